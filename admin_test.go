package authcube_test

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

// signInUser creates a session signed in as login with password.
func signInUser(t *testing.T, te *testEngine, login, password string) (authcube.Session, error) {
	t.Helper()
	return te.CreateUserSession(t.Context(), authcube.Credentials{Login: login, Password: password})
}

func TestAdminCreateGetListUpdateDelete(t *testing.T) {
	te := newTestEngine(t)
	ctx := t.Context()
	a := te.Admin()

	_, err := a.CreateUser(ctx, authcube.NewUser{Login: "ann", Password: "password1234"})
	requireCode(t, err, authcube.ErrInvalid, "password") // the sign-up rules hold (S3)
	_, err = a.CreateUser(ctx, authcube.NewUser{Login: "a", Password: testPassword})
	requireCode(t, err, authcube.ErrInvalid, "login")

	ann, err := a.CreateUser(ctx, authcube.NewUser{Login: "Ann", Email: "ann@example.com", Password: testPassword,
		FullName: "Ann Lee", Phone: "+14155550100", Tags: []string{"VIP"}, CustomData: `{"a":1}`})
	require.NoError(t, err)
	assert.Equal(t, "argon2id", ann.HashScheme)
	_, err = a.CreateUser(ctx, authcube.NewUser{Login: "ANN", Password: testPassword})
	requireCode(t, err, authcube.ErrConflict, "login")
	bob, err := a.CreateUser(ctx, authcube.NewUser{Email: "bob@example.com", Password: testPassword})
	require.NoError(t, err)

	got, err := a.User(ctx, ann.ID)
	require.NoError(t, err)
	assert.Equal(t, ann, got)
	assert.Equal(t, []string{"vip"}, got.Tags)
	got, err = a.UserByLogin(ctx, "ａｎｎ")
	require.NoError(t, err)
	assert.Equal(t, ann.ID, got.ID)
	got, err = a.UserByEmail(ctx, "BOB@example.com")
	require.NoError(t, err)
	assert.Equal(t, bob.ID, got.ID)
	_, err = a.User(ctx, 999)
	requireCode(t, err, authcube.ErrNotFound, "")

	page, err := a.Users(ctx, 0, 1)
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, ann.ID, page[0].ID)
	page, err = a.Users(ctx, page[0].ID, 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, bob.ID, page[0].ID)
	_, err = a.Users(ctx, 0, authcube.MaxAdminPage+1)
	requireCode(t, err, authcube.ErrInvalid, "limit")

	// A new password needs no old one, and ends every session of the user.
	s1, err := signInUser(t, te, "ann", testPassword)
	require.NoError(t, err)
	s2, err := signInUser(t, te, "ann", testPassword)
	require.NoError(t, err)
	const newPassword = "a whole new secret"
	_, err = a.UpdateUser(ctx, ann.ID, authcube.UserUpdate{Password: new("password1234")})
	requireCode(t, err, authcube.ErrInvalid, "password")
	updated, err := a.UpdateUser(ctx, ann.ID, authcube.UserUpdate{Password: new(newPassword), FullName: new("Ann B. Lee")})
	require.NoError(t, err)
	assert.Equal(t, "Ann B. Lee", updated.FullName)
	for _, s := range []authcube.Session{s1, s2} {
		_, err = te.Session(ctx, s.Token)
		requireCode(t, err, authcube.ErrUnauthorized, "")
		assert.ErrorIs(t, err, authcube.ErrSessionRevoked)
	}
	_, err = signInUser(t, te, "ann", testPassword)
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = signInUser(t, te, "ann", newPassword)
	require.NoError(t, err)
	_, err = a.UpdateUser(ctx, ann.ID, authcube.UserUpdate{Login: new("bob@example.com"), Email: new("BOB@example.com")})
	requireCode(t, err, authcube.ErrConflict, "email")

	require.NoError(t, a.DeleteUser(ctx, bob.ID))
	requireCode(t, a.DeleteUser(ctx, bob.ID), authcube.ErrNotFound, "")
	_, err = signInUser(t, te, "", "")
	require.Error(t, err)
}

func TestAdminDisable(t *testing.T) {
	te := newTestEngine(t)
	ctx := t.Context()
	a := te.Admin()
	u := te.signUp(t, "carol")
	s1, err := signInUser(t, te, "carol", testPassword)
	require.NoError(t, err)
	s2, err := signInUser(t, te, "carol", testPassword)
	require.NoError(t, err)

	require.NoError(t, a.DisableUser(ctx, u.ID))
	for _, s := range []authcube.Session{s1, s2} { // ended at once (S44)
		_, err = te.Session(ctx, s.Token)
		requireCode(t, err, authcube.ErrUnauthorized, "")
		assert.ErrorIs(t, err, authcube.ErrSessionRevoked)
	}
	got, err := a.User(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.Disabled)

	before := authcube.VerifyCount(te.Engine)
	_, err = signInUser(t, te, "carol", "wrong password!")
	requireCode(t, err, authcube.ErrInvalidCredentials, "") // the answer of a wrong password
	assert.NotErrorIs(t, err, authcube.ErrUserDisabled)
	_, err = signInUser(t, te, "carol", testPassword)
	requireCode(t, err, authcube.ErrUserDisabled, "") // only the right password learns it
	assert.NotErrorIs(t, err, authcube.ErrInvalidCredentials)
	_, err = te.SignIn(ctx, te.appSession(t).Token, authcube.Credentials{Login: "carol", Password: testPassword})
	requireCode(t, err, authcube.ErrUserDisabled, "")
	assert.Equal(t, int64(3), authcube.VerifyCount(te.Engine)-before, "one verify per attempt (S8)")

	require.NoError(t, a.EnableUser(ctx, u.ID))
	_, err = signInUser(t, te, "carol", testPassword)
	require.NoError(t, err)
	_, err = te.Session(ctx, s1.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "") // ended sessions stay ended
	requireCode(t, a.DisableUser(ctx, 999), authcube.ErrNotFound, "")
}

// adminHooked is storetest.Hooked with the inner store's Admin ability.
type adminHooked struct {
	*storetest.Hooked
	store.Admin
}

// TestAdminDisableRacesSignIn: a sign-in whose password check passed just before the user was
// disabled gets no session: the session write checks the flag (S44).
func TestAdminDisableRacesSignIn(t *testing.T) {
	te := newTestEngine(t)
	u := te.signUp(t, "dave")
	var once atomic.Bool
	authcube.WrapStore(te.Engine, func(inner store.Store) store.Store {
		h := &storetest.Hooked{Inner: inner}
		h.Before = func(method string) error {
			if method == "CreateSession" && once.CompareAndSwap(false, true) {
				require.NoError(t, te.Admin().DisableUser(context.Background(), u.ID))
			}
			return nil
		}
		return adminHooked{h, inner.(store.Admin)}
	})
	_, err := signInUser(t, te, "dave", testPassword)
	require.True(t, once.Load())
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	sessions, err := te.Admin().Sessions(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Empty(t, sessions)
}

func TestAdminSessionsRevokeStats(t *testing.T) {
	te := newTestEngine(t)
	ctx := t.Context()
	a := te.Admin()
	u := te.signUp(t, "erin")
	te.signUp(t, "frank")
	s1, err := signInUser(t, te, "erin", testPassword)
	require.NoError(t, err)
	s2, err := signInUser(t, te, "erin", testPassword)
	require.NoError(t, err)
	s3, err := signInUser(t, te, "erin", testPassword)
	require.NoError(t, err)
	_, err = te.UploadFile(ctx, s1.Token, authcube.NewFile{Name: "a.txt"}, strings.NewReader("hello"))
	require.NoError(t, err)

	list, err := a.Sessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Empty(t, list[0].Token)

	st, err := a.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, authcube.Stats{Users: 2, Sessions: 5, UserSessions: 3, Files: 1, FileBytes: 5}, st)

	require.NoError(t, a.RevokeSession(ctx, u.ID, s2.ID))
	_, err = te.Session(ctx, s2.Token)
	assert.ErrorIs(t, err, authcube.ErrSessionRevoked)
	requireCode(t, a.RevokeSession(ctx, u.ID, s2.ID), authcube.ErrNotFound, "")
	n, err := a.RevokeSessions(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for _, s := range []authcube.Session{s1, s3} {
		_, err = te.Session(ctx, s.Token)
		assert.ErrorIs(t, err, authcube.ErrSessionRevoked)
	}

	// Sessions past their idle expiry are not counted.
	te.clock.Advance(3 * time.Hour)
	st, err = a.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(0), st.Sessions)
}

// TestAdminEventsAndLogs: every admin change is an Event with Admin set and a log record at
// Info (S28, S44).
func TestAdminEventsAndLogs(t *testing.T) {
	var logs bytes.Buffer
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ctx := t.Context()
	a := te.Admin()
	u, err := a.CreateUser(ctx, authcube.NewUser{Login: "gina", Password: testPassword})
	require.NoError(t, err)
	s, err := signInUser(t, te, "gina", testPassword)
	require.NoError(t, err)
	_, err = a.UpdateUser(ctx, u.ID, authcube.UserUpdate{FullName: new("G")})
	require.NoError(t, err)
	_, err = a.UpdateUser(ctx, u.ID, authcube.UserUpdate{Password: new("another long secret")})
	require.NoError(t, err)
	require.NoError(t, a.DisableUser(ctx, u.ID))
	require.NoError(t, a.EnableUser(ctx, u.ID))
	_, err = signInUser(t, te, "gina", "another long secret")
	require.NoError(t, err)
	list, err := a.Sessions(ctx, u.ID)
	require.NoError(t, err)
	require.NoError(t, a.RevokeSession(ctx, u.ID, list[0].ID))
	_, err = a.RevokeSessions(ctx, u.ID)
	require.NoError(t, err)
	_, err = a.ImportUsers(ctx, []authcube.UserRecord{{Login: "hank"}}, authcube.ImportOptions{})
	require.NoError(t, err)
	require.NoError(t, a.DeleteUser(ctx, u.ID))

	var adminKinds []authcube.EventKind
	for _, ev := range te.events.list {
		if ev.Admin {
			adminKinds = append(adminKinds, ev.Kind)
		}
	}
	want := []authcube.EventKind{authcube.UserCreated, authcube.UserUpdated, authcube.UserUpdated, authcube.PasswordChanged,
		authcube.UserDisabled, authcube.UserEnabled, authcube.SessionRevoked, authcube.SessionRevoked,
		authcube.UsersImported, authcube.UserDeleted}
	assert.Equal(t, want, adminKinds)
	for _, k := range want {
		assert.Contains(t, logs.String(), `"event":"`+k.String()+`"`)
	}
	assert.Equal(t, len(want), strings.Count(logs.String(), `"admin":true`))
	assert.NotContains(t, logs.String(), "another long secret")
	assert.NotContains(t, logs.String(), s.Token)
}

// Foreign hashes for the import tests, each of the password testPassword.
func foreignHashes(t *testing.T) map[string]string {
	bc, err := bcrypt.GenerateFromPassword([]byte(testPassword), 4)
	require.NoError(t, err)
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, testPassword, salt, 1000, 32)
	require.NoError(t, err)
	raw := base64.RawStdEncoding
	return map[string]string{
		"bcrypt": string(bc),
		"php":    "$2y$" + string(bc[4:]),
		"pbkdf2": "$pbkdf2-sha256$i=1000,l=32$" + raw.EncodeToString(salt) + "$" + raw.EncodeToString(key),
		"django": "pbkdf2_sha256$1000$0123456789abcdef$" + base64.StdEncoding.EncodeToString(key),
	}
}

// Firebase's published sample user (github.com/firebase/scrypt): password "user1password".
const firebaseVector = "$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="

// TestImportForeignHashes: imported users sign in with their own passwords, one verify per
// attempt, and their hashes become argon2id at the first success (S45, S5, S8).
func TestImportForeignHashes(t *testing.T) {
	te := newTestEngine(t)
	ctx := t.Context()
	a := te.Admin()
	var recs []authcube.UserRecord
	passwords := map[string]string{}
	for name, h := range foreignHashes(t) {
		recs = append(recs, authcube.UserRecord{Login: name, PasswordHash: h})
		passwords[name] = testPassword
	}
	recs = append(recs, authcube.UserRecord{Email: "user1@example.com", PasswordHash: firebaseVector, ExternalID: "fb-uid-1"})
	res, err := a.ImportUsers(ctx, recs, authcube.ImportOptions{})
	require.NoError(t, err)
	for i, r := range res {
		require.Equal(t, authcube.ImportInserted, r.Status, "record %d: %v", i, r.Err)
	}

	check := func(c authcube.Credentials, password string, id int64) {
		t.Helper()
		got, err := a.User(ctx, id)
		require.NoError(t, err)
		assert.NotEqual(t, "argon2id", got.HashScheme)
		before := authcube.VerifyCount(te.Engine)
		c.Password = password + "x"
		_, err = te.CreateUserSession(ctx, c)
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		assert.Equal(t, int64(1), authcube.VerifyCount(te.Engine)-before, "one verify per failure (S8)")
		c.Password = password
		_, err = te.CreateUserSession(ctx, c)
		require.NoError(t, err, "%s", got.Login+got.Email)
		got, err = a.User(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "argon2id", got.HashScheme, "replaced at the first sign-in")
		_, err = te.CreateUserSession(ctx, c)
		require.NoError(t, err, "and the argon2id hash verifies")
	}
	for i, r := range recs {
		if r.Login != "" {
			check(authcube.Credentials{Login: r.Login}, passwords[r.Login], res[i].ID)
		} else {
			check(authcube.Credentials{Email: r.Email}, "user1password", res[i].ID)
		}
	}
	out, err := a.ExportUsers(ctx, 0, 100)
	require.NoError(t, err)
	require.Len(t, out, len(recs))
	for _, r := range out {
		assert.True(t, strings.HasPrefix(r.PasswordHash, "$argon2id$"), "%s", r.Login)
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v", r, r, r), r.PasswordHash, "S37")
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "r", r)
		js, err := json.Marshal(r)
		require.NoError(t, err)
		assert.NotContains(t, logged.String()+string(js), r.PasswordHash, "S37")
	}
}

// TestImportRefusesUnknownHashes: a form authcube cannot verify, or parameters above the
// ceilings, are refused at import with the field and the reason (S45).
func TestImportRefusesUnknownHashes(t *testing.T) {
	te := newTestEngine(t)
	bad := []string{
		"$1$saltsalt$abcdefghijklmnopqrstuv",         // md5-crypt
		"sha1$salt$0123456789abcdef0123456789abcdef", // Django sha1
		"plaintext",
		"$scrypt$ln=22,r=8,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43), // 4 GiB
		"$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$" + strings.Repeat("A", 43),
		"$2b$31$" + strings.Repeat("a", 53),
	}
	var recs []authcube.UserRecord
	for i, h := range bad {
		recs = append(recs, authcube.UserRecord{Login: fmt.Sprintf("user%d", i), PasswordHash: h})
	}
	res, err := te.Admin().ImportUsers(t.Context(), recs, authcube.ImportOptions{})
	require.NoError(t, err)
	for i, r := range res {
		assert.Equal(t, authcube.ImportInvalid, r.Status, bad[i])
		requireCode(t, r.Err, authcube.ErrInvalid, "password_hash")
		assert.NotContains(t, r.Err.Error(), bad[i])
	}
	st, err := te.Admin().Stats(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(0), st.Users)
}

// TestImportRerunConflictsDryRun: a rerun finds its users there; conflicts skip or stop; a dry
// run writes nothing.
func TestImportRerunConflictsDryRun(t *testing.T) {
	te := newTestEngine(t)
	ctx := t.Context()
	a := te.Admin()
	te.signUp(t, "taken")
	te.clock.Advance(time.Minute)
	h := foreignHashes(t)["bcrypt"]
	recs := []authcube.UserRecord{
		{Login: "one", Email: "one@example.com", PasswordHash: h},
		{Login: "TAKEN", PasswordHash: h},
		{Login: "x", PasswordHash: h}, // too short
		{ID: 500, Login: "two", PasswordHash: h, Tags: []string{"imported"}},
	}
	dry, err := a.ImportUsers(ctx, recs, authcube.ImportOptions{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, []authcube.ImportStatus{authcube.ImportValid, authcube.ImportSkipped, authcube.ImportInvalid, authcube.ImportValid}, statuses(dry))
	requireCode(t, dry[1].Err, authcube.ErrConflict, "login")
	requireCode(t, dry[2].Err, authcube.ErrInvalid, "login")
	st, err := a.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), st.Users, "a dry run writes nothing")

	res, err := a.ImportUsers(ctx, recs, authcube.ImportOptions{})
	requireCode(t, err, authcube.ErrConflict, "login")
	assert.Equal(t, []authcube.ImportStatus{authcube.ImportInserted, authcube.ImportSkipped}, statuses(res), "stops at the conflict")

	res, err = a.ImportUsers(ctx, recs, authcube.ImportOptions{OnConflict: authcube.ConflictSkip})
	require.NoError(t, err)
	assert.Equal(t, []authcube.ImportStatus{authcube.ImportExisting, authcube.ImportSkipped, authcube.ImportInvalid, authcube.ImportInserted}, statuses(res))
	assert.Equal(t, int64(500), res[3].ID)
	again, err := a.ImportUsers(ctx, recs, authcube.ImportOptions{OnConflict: authcube.ConflictSkip})
	require.NoError(t, err)
	assert.Equal(t, []authcube.ImportStatus{authcube.ImportExisting, authcube.ImportSkipped, authcube.ImportInvalid, authcube.ImportExisting}, statuses(again))
	st, err = a.Stats(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(3), st.Users)
	got, err := a.User(ctx, 500)
	require.NoError(t, err)
	assert.Equal(t, []string{"imported"}, got.Tags)
}

func statuses(rs []authcube.ImportResult) []authcube.ImportStatus {
	var out []authcube.ImportStatus
	for _, r := range rs {
		out = append(out, r.Status)
	}
	return out
}

// TestImportedUsersThrottled: wrong passwords against an imported hash are throttled as any
// (S9, S45).
func TestImportedUsersThrottled(t *testing.T) {
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Throttle = authcube.ThrottleParams{Free: 3, Base: time.Minute, Max: time.Hour}
	})
	_, err := te.Admin().ImportUsers(t.Context(), []authcube.UserRecord{{Login: "imp", PasswordHash: foreignHashes(t)["bcrypt"]}}, authcube.ImportOptions{})
	require.NoError(t, err)
	for range 3 {
		_, err = signInUser(t, te, "imp", "wrong password!")
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	before := authcube.VerifyCount(te.Engine)
	_, err = signInUser(t, te, "imp", testPassword)
	requireCode(t, err, authcube.ErrThrottled, "")
	assert.Equal(t, before, authcube.VerifyCount(te.Engine), "no verify while throttled")
	te.clock.Advance(time.Hour)
	_, err = signInUser(t, te, "imp", testPassword)
	require.NoError(t, err)
}

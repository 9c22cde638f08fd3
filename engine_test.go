package authcube_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/authcube/authcube"
)

var ctx = context.Background()

// --- Open and Close ---------------------------------------------------------------------------

func TestOpenCreatesDirectoryAndDefaults(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	te := newTestEngine(t, func(c *authcube.Config) { c.Dir = dir })
	for _, name := range []string{"LOCK", "authcube.db"} {
		_, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
	}
	s := te.appSession(t)
	assert.Equal(t, int64(1), s.AppID, "AppID 0 means 1")
	assert.Equal(t, int64(1), te.AppID())
	assert.Equal(t, te.clock.Now(), s.CreatedAt)
	assert.Equal(t, s.CreatedAt.Add(2*time.Hour), s.ExpiresAt, "SessionIdleTTL 0 means 2h")
	assert.False(t, s.IsUser())
	assert.Len(t, s.Token, 43)
	assert.Regexp(t, `^[0-9a-f-]{36}$`, s.ID)
}

func TestOpenRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]authcube.Config{
		"no dir":           {},
		"negative ttl":     {Dir: t.TempDir(), SessionIdleTTL: -time.Second},
		"min len too long": {Dir: t.TempDir(), PasswordMinLen: 129},
		"absurd hashing":   {Dir: t.TempDir(), Hashing: authcube.HashParams{MemoryKiB: 1 << 30, Iterations: 1, Parallelism: 1}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := authcube.Open(ctx, cfg)
			requireCode(t, err, authcube.ErrInvalid, map[string]string{
				"no dir": "Dir", "negative ttl": "SessionIdleTTL", "min len too long": "PasswordMinLen", "absurd hashing": "Hashing",
			}[name])
		})
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, err := authcube.Open(ctx, te.cfg)
	requireCode(t, err, authcube.ErrLocked, "")

	require.NoError(t, te.Close())
	e2, err := authcube.Open(ctx, te.cfg)
	require.NoError(t, err, "Close releases the lock")
	require.NoError(t, e2.Close())
}

// TestHelperProcessOpen is not a test: TestSecondOpenFromAnotherProcessIsLocked runs the test
// binary again with it, to open the directory from another process.
func TestHelperProcessOpen(t *testing.T) {
	dir := os.Getenv("AUTHCUBE_HELPER_DIR")
	if dir == "" {
		return
	}
	e, err := authcube.Open(ctx, authcube.Config{Dir: dir})
	switch {
	case errors.Is(err, authcube.ErrLocked):
		fmt.Println("result: locked")
	case err != nil:
		fmt.Println("result: error:", err)
	default:
		e.Close()
		fmt.Println("result: opened")
	}
}

func TestSecondOpenFromAnotherProcessIsLocked(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	run := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessOpen$", "-test.count=1")
		cmd.Env = append(os.Environ(), "AUTHCUBE_HELPER_DIR="+te.cfg.Dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
		m := regexp.MustCompile(`result: .*`).FindString(string(out))
		return m
	}
	assert.Equal(t, "result: locked", run())
	require.NoError(t, te.Close())
	assert.Equal(t, "result: opened", run(), "the lock dies with Close")
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	require.NoError(t, te.Close())
	db, err := sql.Open("sqlite", filepath.Join(te.cfg.Dir, "authcube.db"))
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 999")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = authcube.Open(ctx, te.cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer authcube")
	// The refused Open released the lock.
	_, err = authcube.Open(ctx, te.cfg)
	assert.NotErrorIs(t, err, authcube.ErrLocked)
}

func TestCallsAfterCloseAreClosed(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	s := te.appSession(t)
	require.NoError(t, te.Close())
	require.NoError(t, te.Close(), "Close is idempotent")

	_, err := te.CreateSession(ctx)
	requireCode(t, err, authcube.ErrClosed, "")
	_, err = te.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrClosed, "")
	_, err = te.SignUp(ctx, s.Token, authcube.NewUser{Login: "ann", Password: testPassword})
	requireCode(t, err, authcube.ErrClosed, "")
	_, err = te.SignIn(ctx, s.Token, authcube.Credentials{Login: "ann", Password: testPassword})
	requireCode(t, err, authcube.ErrClosed, "")
}

func TestCloseWaitsForCallsInFlight(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	te := newTestEngine(t, func(c *authcube.Config) {
		c.OnEvent = func(ev authcube.Event) {
			if ev.Kind == authcube.UserCreated {
				once.Do(func() { close(entered); <-release })
			}
		}
	})
	app := te.appSession(t)
	type result struct {
		u   authcube.User
		err error
	}
	signedUp := make(chan result)
	go func() {
		u, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "inflight", Password: testPassword})
		signedUp <- result{u, err}
	}()
	<-entered // SignUp is in flight, blocked in OnEvent
	closed := make(chan error)
	go func() { closed <- te.Close() }()
	// Close has begun once new calls are refused.
	for {
		if _, err := te.CreateSession(ctx); errors.Is(err, authcube.ErrClosed) {
			break
		}
		runtime.Gosched()
	}
	close(release)
	r := <-signedUp
	require.NoError(t, r.err)
	require.NoError(t, <-closed)

	te.open(t)
	u, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "inflight", Password: testPassword})
	require.NoError(t, err, "the call Close waited for completed")
	assert.Equal(t, r.u.ID, u.UserID)
}

func TestSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "marvin18")
	app := te.appSession(t)
	_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	before, err := te.Session(ctx, app.Token)
	require.NoError(t, err)

	te.restart(t)
	after, err := te.Session(ctx, app.Token)
	require.NoError(t, err)
	assert.Equal(t, before.ID, after.ID)
	assert.Equal(t, before.UserID, after.UserID)
	assert.Equal(t, before.SignedInAt, after.SignedInAt)
}

// --- Sessions ---------------------------------------------------------------------------------

func TestBadTokensAreUnauthorized(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	good := te.appSession(t).Token
	raw, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)
	raw[0] ^= 1
	tokens := map[string]string{
		"empty":            "",
		"short":            good[:42],
		"long":             good + "A",
		"not base64url":    strings.Repeat("*", 43),
		"padded":           good[:42] + "=",
		"unknown":          base64.RawURLEncoding.EncodeToString(raw),
		"standard base64":  strings.Repeat("+", 43),
		"non-canonical":    good[:42] + "B", // last char carries unused bits
		"with white space": " " + good[1:],
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			_, err := te.Session(ctx, tok)
			requireCode(t, err, authcube.ErrUnauthorized, "")
			_, err = te.SignUp(ctx, tok, authcube.NewUser{Login: "x" + name[:1], Password: testPassword})
			requireCode(t, err, authcube.ErrUnauthorized, "")
			_, err = te.SignIn(ctx, tok, authcube.Credentials{Login: "nobody", Password: testPassword})
			requireCode(t, err, authcube.ErrUnauthorized, "")
			requireCode(t, te.SignOut(ctx, tok), authcube.ErrUnauthorized, "")
			requireCode(t, te.DestroySession(ctx, tok), authcube.ErrUnauthorized, "")
		})
	}
	_, err = te.Session(ctx, good)
	require.NoError(t, err, "the good token is untouched")
}

func TestSessionIdleExpirySlides(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	s := te.appSession(t)

	te.clock.Advance(time.Hour)
	got, err := te.Session(ctx, s.Token)
	require.NoError(t, err)
	assert.Equal(t, te.clock.Now(), got.UpdatedAt, "a request moves UpdatedAt")
	assert.Equal(t, te.clock.Now().Add(2*time.Hour), got.ExpiresAt, "and slides the expiry")

	te.clock.Advance(2*time.Hour - time.Millisecond) // +1h59m59.999s after the last request
	_, err = te.Session(ctx, s.Token)
	require.NoError(t, err, "alive 1 ms before the idle limit")

	te.clock.Advance(2 * time.Hour) // exactly 2h after the last request
	_, err = te.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
	assert.Equal(t, authcube.SessionExpired, te.events.last().Kind)
	assert.Equal(t, s.ID, te.events.last().SessionID)

	n := len(te.events.kinds())
	_, err = te.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
	assert.Len(t, te.events.kinds(), n, "SessionExpired is emitted once")
}

func TestSessionIdleExpiryHoldsAcrossRestart(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	s := te.appSession(t)
	te.clock.Advance(90 * time.Minute)
	_, err := te.Session(ctx, s.Token)
	require.NoError(t, err)
	te.restart(t)
	te.clock.Advance(2*time.Hour - time.Millisecond)
	_, err = te.Session(ctx, s.Token)
	require.NoError(t, err, "the last request was kept across the restart")
}

func TestSessionMaxAgeFromSignIn(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.SessionMaxAge = 5 * time.Hour })
	te.signUp(t, "marvin18")
	s := te.appSession(t)
	te.clock.Advance(time.Hour) // sign in an hour after creation: the absolute limit counts from here
	_, err := te.SignIn(ctx, s.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	signedIn := te.clock.Now()

	for i := 0; i < 4; i++ { // active every hour
		te.clock.Advance(time.Hour)
		got, err := te.Session(ctx, s.Token)
		require.NoError(t, err)
		want := te.clock.Now().Add(2 * time.Hour)
		if abs := signedIn.Add(5 * time.Hour); abs.Before(want) {
			want = abs // capped by the absolute lifetime
		}
		assert.Equal(t, want, got.ExpiresAt)
	}
	te.clock.Advance(time.Hour - time.Millisecond)
	_, err = te.Session(ctx, s.Token)
	require.NoError(t, err)
	te.clock.Advance(time.Millisecond) // signedIn + 5h exactly
	_, err = te.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

func TestSignInUpgradesAndSignOutDowngradesTheSameToken(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	u, err := te.SignUp(ctx, te.appSession(t).Token, authcube.NewUser{Login: "marvin18", Email: "Marvin@Example.org", Password: "supersecurepwd"})
	require.NoError(t, err)
	s := te.appSession(t)

	te.clock.Advance(time.Minute)
	got, err := te.SignIn(ctx, s.Token, authcube.Credentials{Login: "MARVIN18", Password: "supersecurepwd"})
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, te.clock.Now(), got.LastRequestAt)
	details, err := te.Session(ctx, s.Token)
	require.NoError(t, err)
	assert.True(t, details.IsUser())
	assert.Equal(t, u.ID, details.UserID)
	assert.Equal(t, s.ID, details.ID, "same session, upgraded")
	assert.Equal(t, te.clock.Now(), details.SignedInAt)
	assert.Equal(t, authcube.SignedIn, te.events.last().Kind)
	assert.Equal(t, "password", te.events.last().Provider)

	require.NoError(t, te.SignOut(ctx, s.Token))
	details, err = te.Session(ctx, s.Token)
	require.NoError(t, err, "the token is kept")
	assert.False(t, details.IsUser())
	assert.True(t, details.SignedInAt.IsZero())
	require.NoError(t, te.SignOut(ctx, s.Token), "no-op on an application session")

	_, err = te.SignIn(ctx, s.Token, authcube.Credentials{Email: "marvin@EXAMPLE.org", Password: "supersecurepwd"})
	require.NoError(t, err, "sign in by email, any case")
	details, err = te.Session(ctx, s.Token)
	require.NoError(t, err)
	assert.Equal(t, u.ID, details.UserID)
}

func TestCreateUserSession(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	u := te.signUp(t, "marvin18")
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	assert.Equal(t, u.ID, s.UserID)
	assert.Equal(t, te.clock.Now(), s.SignedInAt)
	assert.Equal(t, []authcube.EventKind{authcube.SessionCreated, authcube.SignedIn}, te.events.kinds()[len(te.events.kinds())-2:])

	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "wrong password"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
}

func TestDestroySession(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "marvin18")
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	require.NoError(t, te.DestroySession(ctx, s.Token))
	assert.Equal(t, authcube.SessionDestroyed, te.events.last().Kind)

	_, err = te.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
	requireCode(t, te.DestroySession(ctx, s.Token), authcube.ErrUnauthorized, "")
	te.restart(t)
	_, err = te.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "") // destroyed stays destroyed after a restart
}

func TestSignInFailuresAreOneError(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "marvin18")
	s := te.appSession(t)
	var messages []string
	for name, c := range map[string]authcube.Credentials{
		"wrong password":  {Login: "marvin18", Password: "wrong password"},
		"unknown login":   {Login: "nobody", Password: testPassword},
		"unknown email":   {Email: "nobody@example.org", Password: testPassword},
		"malformed login": {Login: "no spaces allowed", Password: testPassword},
		"prefix password": {Login: "marvin18", Password: testPassword[:len(testPassword)-1]},
		"longer password": {Login: "marvin18", Password: testPassword + "x"},
	} {
		verifies := authcube.VerifyCount(te.Engine)
		_, err := te.SignIn(ctx, s.Token, c)
		ae := requireCode(t, err, authcube.ErrInvalidCredentials, "")
		messages = append(messages, ae.Message)
		assert.Equal(t, verifies+1, authcube.VerifyCount(te.Engine), "%s: exactly one verify (S8)", name)
		ev := te.events.last()
		assert.Equal(t, authcube.SignInFailed, ev.Kind, name)
		assert.Equal(t, c.Login+c.Email, ev.Login, name)
		assert.ErrorIs(t, ev.Err, authcube.ErrInvalidCredentials)
	}
	for _, m := range messages {
		assert.Equal(t, messages[0], m, "one message for every failure")
	}
	details, err := te.Session(ctx, s.Token)
	require.NoError(t, err)
	assert.False(t, details.IsUser(), "a failed sign-in leaves the session as it was")

	hashes := authcube.VerifyCount(te.Engine)
	_, err = te.SignIn(ctx, s.Token, authcube.Credentials{Login: "marvin18", Password: strings.Repeat("a", 1<<20)})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	assert.Equal(t, hashes, authcube.VerifyCount(te.Engine), "a 1 MiB password is refused before hashing (S1)")
}

func TestSignInNeedsWellFormedCredentials(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	s := te.appSession(t)
	for name, tc := range map[string]struct {
		c     authcube.Credentials
		field string
	}{
		"nothing":        {authcube.Credentials{Password: testPassword}, "login"},
		"login and mail": {authcube.Credentials{Login: "a", Email: "a@example.org", Password: testPassword}, "login"},
		"no password":    {authcube.Credentials{Login: "marvin18"}, "password"},
		"provider":       {authcube.Credentials{Provider: "firebase_phone", Token: "x"}, "provider"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := te.SignIn(ctx, s.Token, tc.c)
			requireCode(t, err, authcube.ErrInvalid, tc.field)
		})
	}
}

// --- Sign-up ----------------------------------------------------------------------------------

func TestSignUp(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	u, err := te.SignUp(ctx, app.Token, authcube.NewUser{
		Login: "marvin18", Email: "marvin@example.org", Password: "supersecurepwd",
		FullName: "Marvin Simon", Phone: "47802323143", Website: "https://example.org/marvin",
		ExternalID: "3789", Tags: []string{"iPhone", "apple", "iphone"}, CustomData: `{"avatar_uid":"x"}`,
	})
	require.NoError(t, err)
	assert.Positive(t, u.ID)
	assert.Equal(t, "marvin18", u.Login)
	assert.Equal(t, "marvin@example.org", u.Email)
	assert.Equal(t, "Marvin Simon", u.FullName)
	assert.Equal(t, "47802323143", u.Phone)
	assert.Equal(t, "https://example.org/marvin", u.Website)
	assert.Equal(t, "3789", u.ExternalID)
	assert.Equal(t, []string{"iphone", "apple"}, u.Tags, "tags folded and de-duplicated")
	assert.Equal(t, `{"avatar_uid":"x"}`, u.CustomData)
	assert.Equal(t, te.clock.Now(), u.CreatedAt)
	assert.Equal(t, authcube.UserCreated, te.events.last().Kind)
	assert.Equal(t, u.ID, te.events.last().UserID)

	details, err := te.Session(ctx, app.Token)
	require.NoError(t, err)
	assert.False(t, details.IsUser(), "an application session may sign up; sign-up does not sign in")

	u2, err := te.SignUp(ctx, app.Token, authcube.NewUser{Email: "only@example.org", Password: "supersecurepwd"})
	require.NoError(t, err, "email alone is enough")
	assert.Greater(t, u2.ID, u.ID)
	assert.Empty(t, u2.Login)
}

func TestSignUpRefusesBadInput(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	te.signUp(t, "BigBird")
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "taken1", Email: "Taken@Example.org", Password: testPassword})
	require.NoError(t, err)

	cases := map[string]struct {
		u        authcube.NewUser
		sentinel error
		field    string
	}{
		"taken login":           {authcube.NewUser{Login: "bigbird", Password: testPassword}, authcube.ErrConflict, "login"},
		"taken login fullwidth": {authcube.NewUser{Login: "ｂｉｇｂｉｒｄ", Password: testPassword}, authcube.ErrConflict, "login"},
		"taken email":           {authcube.NewUser{Email: "taken@example.ORG", Password: testPassword}, authcube.ErrConflict, "email"},
		"no login or email":     {authcube.NewUser{Password: testPassword}, authcube.ErrInvalid, "login"},
		"no password":           {authcube.NewUser{Login: "ann1"}, authcube.ErrInvalid, "password"},
		"short password":        {authcube.NewUser{Login: "ann1", Password: "1234567"}, authcube.ErrInvalid, "password"},
		"1 MiB password":        {authcube.NewUser{Login: "ann1", Password: strings.Repeat("x", 1<<20)}, authcube.ErrInvalid, "password"},
		"common password":       {authcube.NewUser{Login: "ann1", Password: "password1234"}, authcube.ErrInvalid, "password"},
		"password is login":     {authcube.NewUser{Login: "annabelle", Password: "Annabelle"}, authcube.ErrInvalid, "password"},
		"password is email":     {authcube.NewUser{Email: "ann@example.org", Password: "ann@example.org"}, authcube.ErrInvalid, "password"},
		"bad email":             {authcube.NewUser{Email: "not-an-email", Password: testPassword}, authcube.ErrInvalid, "email"},
		"email list":            {authcube.NewUser{Email: "a@example.org,b@example.org", Password: testPassword}, authcube.ErrInvalid, "email"},
		"short login":           {authcube.NewUser{Login: "ab", Password: testPassword}, authcube.ErrInvalid, "login"},
		"login with space":      {authcube.NewUser{Login: "ann smith", Password: testPassword}, authcube.ErrInvalid, "login"},
		"bad phone":             {authcube.NewUser{Login: "ann1", Password: testPassword, Phone: "call me"}, authcube.ErrInvalid, "phone"},
		"bad website":           {authcube.NewUser{Login: "ann1", Password: testPassword, Website: "javascript:alert(1)"}, authcube.ErrInvalid, "website"},
		"tag with comma":        {authcube.NewUser{Login: "ann1", Password: testPassword, Tags: []string{"a,b"}}, authcube.ErrInvalid, "user_tags"},
		"bidi full name":        {authcube.NewUser{Login: "ann1", Password: testPassword, FullName: "Ann\u202Egnp.exe"}, authcube.ErrInvalid, "full_name"},
		"huge custom data":      {authcube.NewUser{Login: "ann1", Password: testPassword, CustomData: strings.Repeat("x", 64<<10+1)}, authcube.ErrInvalid, "custom_data"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			hashes := authcube.HashCount(te.Engine)
			_, err := te.SignUp(ctx, app.Token, tc.u)
			requireCode(t, err, tc.sentinel, tc.field)
			if tc.sentinel == authcube.ErrInvalid {
				assert.Equal(t, hashes, authcube.HashCount(te.Engine), "refused before hashing")
			}
		})
	}
	// Nothing of the refused sign-ups was stored.
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "ann1", Password: testPassword})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
}

func TestSignUpErrorMessage(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "BigBird")
	_, err := te.SignUp(ctx, te.appSession(t).Token, authcube.NewUser{Login: "bigbird", Password: testPassword})
	require.EqualError(t, err, "authcube: sign up: login: already taken")
	assert.NotErrorIs(t, err, authcube.ErrInvalid)
}

// S11: 100 concurrent sign-ups of one login in four spellings give exactly one success.
func TestConcurrentSignUpsOfOneLogin(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.Rand = nil }) // crypto/rand: many goroutines
	app := te.appSession(t)
	spellings := []string{"BigBird", "bigbird", "ＢｉｇＢｉｒｄ", "BIGBIRD"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: spellings[i%4], Password: testPassword})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok, conflicts := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, authcube.ErrConflict):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 99, conflicts)
}

// 1000 concurrent sign-ins all succeed; no SQLITE_BUSY or other error reaches a caller.
func TestThousandConcurrentSignIns(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.Rand = nil })
	te.signUp(t, "marvin18")
	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
			if assert.NoError(t, err) {
				_, err = te.Session(ctx, s.Token)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
}

func TestPasswordsAreNormalisedBeforeHashing(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "cafe", Password: "caf\u00e9 au lait"}) // precomposed é
	require.NoError(t, err)
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "cafe", Password: "cafe\u0301 au lait"}) // e + combining acute
	require.NoError(t, err, "S2: NFC before hashing")
}

// --- Storage: what reaches the disk ------------------------------------------------------------

func TestStoredHashesAndTokens(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.Hashing = authcube.HashParams{} }) // defaults
	app := te.appSession(t)
	for _, login := range []string{"ann1", "bob1"} {
		_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: login, Password: "the same password"})
		require.NoError(t, err)
	}
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "ann1", Password: "the same password"})
	require.NoError(t, err)
	require.NoError(t, te.Close())

	db, err := sql.Open("sqlite", filepath.Join(te.cfg.Dir, "authcube.db")+"?_pragma=query_only(1)")
	require.NoError(t, err)
	defer db.Close()
	var a, b string
	require.NoError(t, db.QueryRow(`SELECT password_hash FROM users WHERE login = 'ann1'`).Scan(&a))
	require.NoError(t, db.QueryRow(`SELECT password_hash FROM users WHERE login = 'bob1'`).Scan(&b))
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	assert.Regexp(t, phc, a, "S4: PHC string with the default parameters, 16-byte salt, 32-byte key")
	assert.NotEqual(t, a, b, "S4: the same password hashed twice differs")

	// S13: no token reaches the database files.
	for _, name := range []string{"authcube.db", "authcube.db-wal"} {
		data, err := os.ReadFile(filepath.Join(te.cfg.Dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		for _, tok := range []string{app.Token, s.Token} {
			raw, _ := base64.RawURLEncoding.DecodeString(tok)
			assert.False(t, bytes.Contains(data, []byte(tok)), "token text in %s", name)
			assert.False(t, bytes.Contains(data, raw), "token bytes in %s", name)
		}
	}
}

// --- Errors and events --------------------------------------------------------------------------

func TestEventsOfAFlow(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	u, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "bad password"})
	require.Error(t, err)
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	require.NoError(t, te.SignOut(ctx, app.Token))
	require.NoError(t, te.DestroySession(ctx, app.Token))

	assert.Equal(t, []authcube.EventKind{
		authcube.SessionCreated, authcube.UserCreated, authcube.SignInFailed, authcube.SignedIn,
		authcube.SignedOut, authcube.SessionDestroyed,
	}, te.events.kinds())
	for _, ev := range te.events.list {
		assert.Equal(t, te.clock.Now(), ev.At, ev.Kind.String())
		if ev.Kind != authcube.SignInFailed {
			assert.Equal(t, app.ID, ev.SessionID, ev.Kind.String())
		}
		if ev.Kind == authcube.SignedIn || ev.Kind == authcube.SignedOut {
			assert.Equal(t, u.ID, ev.UserID, ev.Kind.String())
		}
	}
	assert.Equal(t, "SessionDestroyed", authcube.SessionDestroyed.String())
	assert.Equal(t, "EventKind(99)", authcube.EventKind(99).String())
}

func TestSecretsDoNotPrint(t *testing.T) {
	t.Parallel()
	c := authcube.Credentials{Login: "ann", Password: "hunter2hunter2", Token: "tok-secret"}
	nu := authcube.NewUser{Login: "ann", Password: "hunter2hunter2"}
	s := authcube.Session{ID: "id", Token: "tok-secret"}
	uu := authcube.UserUpdate{FullName: new("Ann"), Password: new("hunter2hunter2"), OldPassword: "hunter2hunter2old"}
	m := authcube.Message{To: "a@example.org", Token: "tok-secret", Link: "https://x/?t=tok-secret"}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, v := range []any{c, nu, s, uu, m} {
		logger.Info("value", "v", v)
		for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(f, v)
			assert.NotContains(t, out, "hunter2", f)
			assert.NotContains(t, out, "tok-secret", f)
		}
	}
	assert.NotContains(t, logs.String(), "hunter2", "LogValue")
	assert.NotContains(t, logs.String(), "tok-secret", "LogValue")
}

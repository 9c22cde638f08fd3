package authcube_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// signedIn signs up login (with testPassword) and returns the user and a user session.
func (te *testEngine) signedIn(t testing.TB, login string) (authcube.User, authcube.Session) {
	t.Helper()
	u := te.signUp(t, login)
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: login, Password: testPassword})
	require.NoError(t, err)
	return u, s
}

func TestUpdateUserFields(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	u, err := te.SignUp(ctx, app.Token, authcube.NewUser{
		Login: "marvin18", Email: "marvin@example.org", Password: testPassword,
		FullName: "Marvin Simon", Phone: "47802323143", Website: "https://example.org",
		ExternalID: "3789", Tags: []string{"iphone", "apple"}, CustomData: "{}",
	})
	require.NoError(t, err)
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)

	te.clock.Advance(time.Minute)
	got, err := te.UpdateUser(ctx, s.Token, authcube.UserUpdate{FullName: new("Marvin Samuel"), Tags: new([]string{"Android"})})
	require.NoError(t, err)
	assert.Equal(t, "Marvin Samuel", got.FullName)
	assert.Equal(t, []string{"android"}, got.Tags)
	assert.Equal(t, "47802323143", got.Phone, "nil fields are untouched")
	assert.Equal(t, "marvin@example.org", got.Email)
	assert.Equal(t, u.CreatedAt, got.CreatedAt)
	assert.Equal(t, te.clock.Now(), got.UpdatedAt)
	assert.Equal(t, authcube.UserUpdated, te.events.last().Kind)

	got, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{
		Phone: new(""), Website: new(""), ExternalID: new(""), CustomData: new(""), Tags: new([]string(nil)),
		Login: new("Marvin19"), Email: new("m19@example.org"),
	})
	require.NoError(t, err)
	assert.Empty(t, got.Phone, `new("") clears`)
	assert.Empty(t, got.Website)
	assert.Empty(t, got.ExternalID)
	assert.Empty(t, got.CustomData)
	assert.Empty(t, got.Tags)
	assert.Equal(t, "Marvin19", got.Login)

	// The change is durable and visible to look-ups in canonical form.
	te.restart(t)
	byLogin, err := te.UserByLogin(ctx, app.Token, "marvin19")
	require.NoError(t, err)
	assert.Equal(t, got, byLogin)
	_, err = te.UserByLogin(ctx, app.Token, "marvin18")
	requireCode(t, err, authcube.ErrNotFound, "")
	page, err := te.UsersByTags(ctx, app.Token, []string{"iphone"}, authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Users, "cleared tags leave the tag index")
	assert.Zero(t, page.Total)
}

func TestUpdateUserIsAllOrNothing(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "taken")
	u, s := te.signedIn(t, "marvin18")

	cases := map[string]struct {
		uu       authcube.UserUpdate
		sentinel error
		field    string
	}{
		"taken login":          {authcube.UserUpdate{FullName: new("X"), Login: new("TAKEN")}, authcube.ErrConflict, "login"},
		"bad phone":            {authcube.UserUpdate{FullName: new("X"), Phone: new("abc")}, authcube.ErrInvalid, "phone"},
		"bad website":          {authcube.UserUpdate{FullName: new("X"), Website: new("ftp://x")}, authcube.ErrInvalid, "website"},
		"bad tags":             {authcube.UserUpdate{FullName: new("X"), Tags: new([]string{"a,b"})}, authcube.ErrInvalid, "user_tags"},
		"bad email":            {authcube.UserUpdate{FullName: new("X"), Email: new("x")}, authcube.ErrInvalid, "email"},
		"no login or email":    {authcube.UserUpdate{Login: new("")}, authcube.ErrInvalid, "login"},
		"avatar not a file":    {authcube.UserUpdate{AvatarUID: new("0123456789abcdef")}, authcube.ErrInvalid, "avatar"},
		"huge custom data":     {authcube.UserUpdate{CustomData: new(strings.Repeat("x", 64<<10+1))}, authcube.ErrInvalid, "custom_data"},
		"password without old": {authcube.UserUpdate{FullName: new("X"), Password: new("a new password")}, authcube.ErrInvalid, "old_password"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := te.UpdateUser(ctx, s.Token, tc.uu)
			requireCode(t, err, tc.sentinel, tc.field)
		})
	}
	got, err := te.User(ctx, s.Token, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.FullName, got.FullName, "no refused update changed anything")
	assert.Equal(t, u.UpdatedAt, got.UpdatedAt)
}

func TestUpdateUserNeedsAUserSession(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	_, err := te.UpdateUser(ctx, app.Token, authcube.UserUpdate{FullName: new("X")})
	requireCode(t, err, authcube.ErrForbidden, "")
	requireCode(t, te.DeleteUser(ctx, app.Token), authcube.ErrForbidden, "")
	_, err = te.UpdateUser(ctx, "bad", authcube.UserUpdate{FullName: new("X")})
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

func TestUsersChangeOnlyThemselves(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	ann, annS := te.signedIn(t, "ann1")
	bob, bobS := te.signedIn(t, "bob1")

	_, err := te.UpdateUser(ctx, annS.Token, authcube.UserUpdate{FullName: new("Ann")})
	require.NoError(t, err)
	gotBob, err := te.User(ctx, annS.Token, bob.ID)
	require.NoError(t, err)
	assert.Empty(t, gotBob.FullName, "ann's update touched only ann")

	require.NoError(t, te.DeleteUser(ctx, bobS.Token))
	_, err = te.User(ctx, annS.Token, ann.ID)
	require.NoError(t, err, "bob's deletion deleted only bob")
	_, err = te.User(ctx, annS.Token, bob.ID)
	requireCode(t, err, authcube.ErrNotFound, "")
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, s := te.signedIn(t, "marvin18")
	other, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)

	_, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a brand new password"), OldPassword: "wrong old password"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "old_password")
	assert.Equal(t, authcube.SignInFailed, te.events.last().Kind, "S7: a wrong old password counts as a failed sign-in")

	for name, p := range map[string]string{"common": "password1234", "login": "Marvin18", "short": "short"} {
		_, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new(p), OldPassword: testPassword})
		requireCode(t, err, authcube.ErrInvalid, "password")
		_ = name
	}

	_, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a brand new password"), OldPassword: testPassword})
	require.NoError(t, err)
	assert.Equal(t, authcube.PasswordChanged, te.events.last().Kind)

	_, err = te.Session(ctx, s.Token)
	require.NoError(t, err, "the session that changed the password stays")
	_, err = te.Session(ctx, other.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "") // the user's other sessions end
	te.restart(t)
	_, err = te.Session(ctx, other.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")

	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "a brand new password"})
	require.NoError(t, err)
}

func TestConcurrentPasswordChangesOneWins(t *testing.T) {
	t.Parallel()
	// Changes that start after the winner's see a wrong old password, which counts as a failed
	// sign-in: leave room for them.
	te := newTestEngine(t, func(c *authcube.Config) { c.Throttle.Free = 100 })
	_, s := te.signedIn(t, "marvin18")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{
				Password: new("new password number " + string(rune('a'+i))), OldPassword: testPassword,
			})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "exactly one change wins")
			won = i
		}
	}
	require.NotEqual(t, -1, won)
	_, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "new password number " + string(rune('a'+won))})
	require.NoError(t, err, "the winner's password is the one stored")
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	u, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: testPassword, Tags: []string{"apple"}})
	require.NoError(t, err)
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	other, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)

	require.NoError(t, te.DeleteUser(ctx, s.Token))
	assert.Equal(t, authcube.UserDeleted, te.events.last().Kind)
	for _, tok := range []string{s.Token, other.Token} {
		_, err = te.Session(ctx, tok)
		requireCode(t, err, authcube.ErrUnauthorized, "")
	}
	_, err = te.User(ctx, app.Token, u.ID)
	requireCode(t, err, authcube.ErrNotFound, "")
	page, err := te.UsersByTags(ctx, app.Token, []string{"apple"}, authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Users)
	assert.Zero(t, page.Total, "tag counters follow the deletion")

	// The login is free again, but the id is never reused.
	again, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	assert.Greater(t, again.ID, u.ID)
}

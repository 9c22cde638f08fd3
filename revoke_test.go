package authcube_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

// countCalls wraps env's store (keeping the session cache) so that every store call is counted
// by method.
func countCalls(env *authtest.Env) *callCounter {
	c := &callCounter{calls: map[string]int{}}
	authcube.WrapStore(env.Engine, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: c.count}
	})
	return c
}

func (c *callCounter) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// S33: a session its owner ended never comes back by itself. Whichever way it ended (revoked
// from another device, destroyed, a password change on another session, a reset, the user's
// deletion), the Client holding it gets ErrUnauthorized whose cause is ErrSessionRevoked, makes
// no new session and signs nobody in, and tells its listener; the token stays revoked across a
// restart, for as long as the session could have lived. A SignIn on a revoked Client (the user
// typing the password again) signs in on a new session.
func TestClientDoesNotRenewRevokedSessionS33(t *testing.T) {
	t.Parallel()
	const newPassword = "a new password after s33"
	kinds := []struct {
		name   string
		revoke func(t *testing.T, env *authtest.Env, mine, other authcube.Session)
	}{
		{"RevokeSession", func(t *testing.T, env *authtest.Env, mine, other authcube.Session) {
			require.NoError(t, env.Engine.RevokeSession(ctx, other.Token, mine.ID))
		}},
		{"DestroySession", func(t *testing.T, env *authtest.Env, mine, _ authcube.Session) {
			require.NoError(t, env.Engine.DestroySession(ctx, mine.Token))
		}},
		{"PasswordChange", func(t *testing.T, env *authtest.Env, _, other authcube.Session) {
			_, err := env.Engine.UpdateUser(ctx, other.Token, authcube.UserUpdate{Password: new(newPassword), OldPassword: authtest.Password})
			require.NoError(t, err)
		}},
		{"PasswordReset", func(t *testing.T, env *authtest.Env, _, _ authcube.Session) {
			app, err := env.Engine.CreateSession(ctx)
			require.NoError(t, err)
			require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "ann@example.org"))
			require.NoError(t, env.Engine.ConfirmPasswordReset(ctx, env.Mailbox.LastResetToken(), newPassword))
		}},
		{"DeleteUser", func(t *testing.T, env *authtest.Env, _, other authcube.Session) {
			require.NoError(t, env.Engine.DeleteUser(ctx, other.Token))
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			rec := &events{}
			env := authtest.New(t,
				authtest.WithConfig(func(c *authcube.Config) { c.OnEvent = rec.add }),
				authtest.WithUsers(authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: authtest.Password}))
			l := &listener{}
			c := authcube.NewClient(env.Engine, l)
			u, err := c.SignIn(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
			require.NoError(t, err)
			mine, err := c.Session(ctx)
			require.NoError(t, err)
			_, other := env.SignedIn(t, "ann") // the owner's other device
			env.Clock.Advance(authcube.DefaultSessionIdleTTL / 2)

			k.revoke(t, env, mine, other)
			calls := countCalls(env)
			created := count(rec, authcube.SessionCreated) + count(rec, authcube.SignedIn)

			_, err = c.User(ctx, u.ID)
			requireCode(t, err, authcube.ErrUnauthorized, "")
			require.ErrorIs(t, err, authcube.ErrSessionRevoked)
			require.NotErrorIs(t, err, authcube.ErrSessionExpired)
			assert.Zero(t, calls.get("CreateSession"), "no new session")
			assert.Zero(t, calls.get("SignInSession"), "nobody signed in")
			assert.Zero(t, calls.get("UserByLogin"), "the kept password was not tried")
			assert.Equal(t, created, count(rec, authcube.SessionCreated)+count(rec, authcube.SignedIn))
			assert.Zero(t, c.Renewals())
			assert.False(t, c.IsSignedIn())
			assert.Equal(t, 1, l.count(authcube.SessionRevoked), "the listener is told")
			assert.ErrorIs(t, l.last().Err, authcube.ErrSessionRevoked)
			assert.Equal(t, u.ID, l.last().UserID)
			assert.Zero(t, l.count(authcube.SessionRenewed)+l.count(authcube.SessionRenewFailed))

			// The token stays revoked, the cache empty of it, across a restart...
			_, err = env.Engine.Session(ctx, mine.Token)
			require.ErrorIs(t, err, authcube.ErrSessionRevoked)
			env.Restart(t)
			_, err = env.Engine.Session(ctx, mine.Token)
			require.ErrorIs(t, err, authcube.ErrSessionRevoked, "after a restart")
			require.NoError(t, authcube.Sweep(env.Engine))
			_, err = env.Engine.Session(ctx, mine.Token)
			require.ErrorIs(t, err, authcube.ErrSessionRevoked, "the sweeper keeps a tombstone while the session could live")

			// ...until the session's absolute lifetime is over: then it reads as expired.
			env.Clock.Advance(authcube.DefaultSessionMaxAge)
			require.NoError(t, authcube.Sweep(env.Engine))
			_, err = env.Engine.Session(ctx, mine.Token)
			require.ErrorIs(t, err, authcube.ErrSessionExpired)
		})
	}
}

// S33: after a revocation, signing in again is the user's own act: a SignIn that is the first
// call to find the session revoked signs in on a new session, and the listener is still told.
func TestClientSignInAfterRevocationS33(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann", Password: authtest.Password}))
	l := &listener{}
	c := authcube.NewClient(env.Engine, l)
	_, err := c.SignIn(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err)
	mine, err := c.Session(ctx)
	require.NoError(t, err)
	_, other := env.SignedIn(t, "ann")
	require.NoError(t, env.Engine.RevokeSession(ctx, other.Token, mine.ID))

	u, err := c.SignIn(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err)
	s, err := c.Session(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, mine.ID, s.ID, "a new session")
	assert.Equal(t, u.ID, s.UserID)
	assert.Equal(t, 1, l.count(authcube.SessionRevoked))
	assert.Zero(t, c.Renewals())
}

// S33: expiry is not revocation: an expired session still renews, before and after a restart,
// and an unknown or malformed token reads as expired.
func TestExpiredSessionStillRenewsS33(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann", Password: authtest.Password}))
	l := &listener{}
	c := authcube.NewClient(env.Engine, l)
	u, err := c.SignIn(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err)
	mine, err := c.Session(ctx)
	require.NoError(t, err)

	env.Clock.Advance(authcube.DefaultSessionIdleTTL)
	_, err = env.Engine.Session(ctx, mine.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized)
	require.ErrorIs(t, err, authcube.ErrSessionExpired)
	require.NotErrorIs(t, err, authcube.ErrSessionRevoked)
	env.Restart(t)
	_, err = env.Engine.Session(ctx, mine.Token)
	require.ErrorIs(t, err, authcube.ErrSessionExpired, "after a restart")

	// A Client on the reopened engine whose session expired renews it.
	c = authcube.NewClient(env.Engine, l)
	_, err = c.SignIn(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err)
	env.Clock.Advance(authcube.DefaultSessionIdleTTL)
	got, err := c.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, 1, c.Renewals())
	assert.True(t, c.IsSignedIn())
	assert.Zero(t, l.count(authcube.SessionRevoked))

	for _, tok := range []string{"", "not a token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		_, err = env.Engine.Session(ctx, tok)
		require.ErrorIs(t, err, authcube.ErrSessionExpired, "%q", tok)
	}
	// A sign-out is no revocation: the token lives on as an application session.
	s, err := c.Session(ctx)
	require.NoError(t, err)
	require.NoError(t, env.Engine.SignOut(ctx, s.Token))
	got2, err := c.Session(ctx)
	require.NoError(t, err)
	assert.Equal(t, s.ID, got2.ID)
	assert.Zero(t, l.count(authcube.SessionRevoked))
}

func count(r *events, k authcube.EventKind) int {
	n := 0
	for _, got := range r.kinds() {
		if got == k {
			n++
		}
	}
	return n
}

// S33: a write whose session was revoked between its check and its commit says so too (the
// store's answer, not a guess): the Client must not renew it either.
func TestWriteRacingRevocationSaysRevokedS33(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann", Password: authtest.Password}))
	_, s := env.SignedIn(t, "ann")
	var once sync.Once
	authcube.WrapStore(env.Engine, func(inner store.Store) store.Store {
		return &storetest.Hooked{Inner: inner, Before: func(method string) error {
			if method == "UpdateUser" {
				once.Do(func() { require.NoError(t, env.Engine.DestroySession(ctx, s.Token)) })
			}
			return nil
		}}
	})
	_, err := env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{FullName: new("Ann")})
	requireCode(t, err, authcube.ErrUnauthorized, "")
	require.ErrorIs(t, err, authcube.ErrSessionRevoked)
}

// S33: RevokeOtherSessions ends all other sessions of the user in one store transaction: a
// session signed in up to the moment it runs is ended too; the caller's own and other users'
// sessions live on; each ended session emits SessionRevoked; an application session is
// ErrForbidden.
func TestRevokeOtherSessions(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var revoked []string
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann", Password: authtest.Password}, authcube.NewUser{Login: "bob", Password: authtest.Password}),
		authtest.WithConfig(func(c *authcube.Config) {
			c.OnEvent = func(ev authcube.Event) {
				if ev.Kind == authcube.SessionRevoked {
					mu.Lock()
					revoked = append(revoked, ev.SessionID)
					mu.Unlock()
				}
			}
		}))
	creds := authcube.Credentials{Login: "ann", Password: authtest.Password}
	cur, err := env.Engine.CreateUserSession(ctx, creds)
	require.NoError(t, err)
	other, err := env.Engine.CreateUserSession(ctx, creds)
	require.NoError(t, err)
	bob, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "bob", Password: authtest.Password})
	require.NoError(t, err)
	var late authcube.Session
	var once sync.Once
	authcube.WrapStore(env.Engine, func(inner store.Store) store.Store {
		return &storetest.Hooked{Inner: inner, Before: func(method string) error {
			if method == "DeleteOtherUserSessions" || method == "DeleteUserSession" {
				once.Do(func() { // a sign-in racing the revocation
					late, err = env.Engine.CreateUserSession(ctx, creds)
					require.NoError(t, err)
				})
			}
			return nil
		}}
	})
	n, err := env.Engine.RevokeOtherSessions(ctx, cur.Token)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for _, tok := range []string{other.Token, late.Token} {
		_, err := env.Engine.Session(ctx, tok)
		require.ErrorIs(t, err, authcube.ErrSessionRevoked)
	}
	for _, tok := range []string{cur.Token, bob.Token} {
		_, err := env.Engine.Session(ctx, tok)
		require.NoError(t, err)
	}
	mu.Lock()
	assert.ElementsMatch(t, []string{other.ID, late.ID}, revoked)
	mu.Unlock()

	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	_, err = env.Engine.RevokeOtherSessions(ctx, app.Token)
	require.ErrorIs(t, err, authcube.ErrForbidden)
}

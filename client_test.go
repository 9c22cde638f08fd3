package authcube_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// listener records a client's session events.
type listener struct {
	mu     sync.Mutex
	events []authcube.Event
}

func (l *listener) SessionEvent(e authcube.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *listener) count(k authcube.EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func (l *listener) last() authcube.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events[len(l.events)-1]
}

func TestClientCreatesSignsInAndRenews(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "marvin18", Password: "supersecurepwd"}))
	l := &listener{}
	c := authcube.NewClient(env.Engine, l)
	assert.False(t, c.IsSignedIn())

	// The first call creates an application session.
	s, err := c.Session(ctx)
	require.NoError(t, err)
	assert.False(t, s.IsUser())
	assert.Equal(t, 1, l.count(authcube.SessionCreated))

	u, err := c.SignIn(ctx, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})
	require.NoError(t, err)
	assert.True(t, c.IsSignedIn())
	s2, err := c.Session(ctx)
	require.NoError(t, err)
	assert.Equal(t, s.ID, s2.ID, "upgraded, same session")

	// Expiry, then any call renews and retries.
	env.Clock.Advance(2 * time.Hour)
	got, err := c.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, 1, l.count(authcube.SessionRenewed))
	assert.Equal(t, u.ID, l.last().UserID)
	s3, err := c.Session(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, s.ID, s3.ID, "a new session")
	assert.Equal(t, u.ID, s3.UserID, "signed in again")
	assert.True(t, c.IsSignedIn())

	// Sign-out forgets the credentials: a renewal then gives an application session.
	require.NoError(t, c.SignOut(ctx))
	assert.False(t, c.IsSignedIn())
	env.Clock.Advance(2 * time.Hour)
	s4, err := c.Session(ctx)
	require.NoError(t, err)
	assert.False(t, s4.IsUser())
	assert.Equal(t, 2, l.count(authcube.SessionRenewed))

	require.NoError(t, c.DestroySession(ctx))
	_, err = env.Engine.Session(ctx, s4.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized)
}

func TestClientRenewalFailsCleanlyAfterPasswordChangeElsewhere(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	u, _ := env.SignedIn(t, "marvin18")
	l := &listener{}
	c := authcube.NewClient(env.Engine, l)
	_, err := c.SignIn(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password})
	require.NoError(t, err)
	mine, err := c.Session(ctx)
	require.NoError(t, err)

	// The client's session expires (and is found so); then another device changes the password.
	env.Clock.Advance(authcube.DefaultSessionIdleTTL)
	_, err = env.Engine.Session(ctx, mine.Token)
	require.ErrorIs(t, err, authcube.ErrSessionExpired)
	_, other := env.SignedIn(t, "marvin18")
	_, err = env.Engine.UpdateUser(ctx, other.Token, authcube.UserUpdate{Password: new("changed elsewhere"), OldPassword: authtest.Password})
	require.NoError(t, err)

	_, err = c.User(ctx, u.ID)
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "the renewal's sign-in failed, and the caller sees why")
	assert.Equal(t, 1, l.count(authcube.SessionRenewFailed))
	assert.ErrorIs(t, l.last().Err, authcube.ErrInvalidCredentials)
	assert.False(t, c.IsSignedIn())

	// The client carries on with an application session.
	got, err := c.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	_, err = c.UpdateUser(ctx, authcube.UserUpdate{FullName: new("x")})
	require.ErrorIs(t, err, authcube.ErrForbidden)
}

func TestClientPasswordChangeKeepsRenewalWorking(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	env.SignedIn(t, "marvin18")
	c := authcube.NewClient(env.Engine, nil)
	_, err := c.SignIn(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password})
	require.NoError(t, err)
	_, err = c.UpdateUser(ctx, authcube.UserUpdate{Password: new("a brand new one"), OldPassword: authtest.Password})
	require.NoError(t, err)

	env.Clock.Advance(3 * time.Hour)
	list, err := c.Sessions(ctx)
	require.NoError(t, err, "renewed with the new password")
	assert.Len(t, list, 1)
	assert.True(t, c.IsSignedIn())
	assert.Equal(t, 1, c.Renewals())
}

func TestClientConcurrentRenewalHappensOnce(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	u, _ := env.SignedIn(t, "marvin18")
	l := &listener{}
	c := authcube.NewClient(env.Engine, l)
	_, err := c.SignIn(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password})
	require.NoError(t, err)
	env.Clock.Advance(2 * time.Hour)

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, err := c.User(ctx, u.ID)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, c.Renewals())
	assert.Equal(t, 1, l.count(authcube.SessionRenewed))
}

func TestClientDoRetriesOnce(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	c := authcube.NewClient(env.Engine, nil)
	calls := 0
	expired := &authcube.Error{Code: authcube.CodeUnauthorized, Err: authcube.ErrSessionExpired}
	err := c.Do(ctx, func(ctx context.Context, token string) error {
		calls++
		return expired
	})
	require.ErrorIs(t, err, authcube.ErrUnauthorized)
	assert.Equal(t, 2, calls, "one renewal, one retry, no loop")
	boom := errors.New("boom")
	err = c.Do(ctx, func(ctx context.Context, token string) error { calls++; return boom })
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 3, calls, "other errors are not retried")
	err = c.Do(ctx, func(ctx context.Context, token string) error { calls++; return authcube.ErrUnauthorized })
	assert.ErrorIs(t, err, authcube.ErrUnauthorized)
	assert.Equal(t, 4, calls, "an ErrUnauthorized that does not say the session expired is not retried")
	assert.Equal(t, 1, c.Renewals())
}

// Every Engine call that takes a session token has a Client twin without it.
func TestClientHasEveryTokenCall(t *testing.T) {
	t.Parallel()
	notSessionToken := map[string]bool{
		"Backup":               true, // (ctx, path)
		"ConfirmPasswordReset": true, // (ctx, resetToken, newPassword): a reset token, no session
		"CompleteSignIn":       true, // (ctx, challenge, code): a challenge, no session; the Client's adopts the session
		"VerifyEmail":          true, // (ctx, verifyToken): a verification token, no session
	}
	engine := reflect.TypeFor[*authcube.Engine]()
	client := reflect.TypeFor[*authcube.Client]()
	ctxType := reflect.TypeFor[context.Context]()
	checked := 0
	for m := range engine.Methods() {
		ft := m.Type // receiver first
		if ft.NumIn() < 3 || ft.In(1) != ctxType || ft.In(2).Kind() != reflect.String || notSessionToken[m.Name] {
			continue
		}
		twin, ok := client.MethodByName(m.Name)
		if !assert.True(t, ok, "Client.%s is missing", m.Name) {
			continue
		}
		tt := twin.Type
		require.Equal(t, ft.NumIn()-1, tt.NumIn(), m.Name)
		assert.Equal(t, ctxType, tt.In(1), m.Name)
		for i := 3; i < ft.NumIn(); i++ {
			assert.Equal(t, ft.In(i), tt.In(i-1), "%s parameter %d", m.Name, i)
		}
		require.Equal(t, ft.NumOut(), tt.NumOut(), m.Name)
		for i := range ft.NumOut() {
			assert.Equal(t, ft.Out(i), tt.Out(i), "%s result %d", m.Name, i)
		}
		checked++
	}
	assert.GreaterOrEqual(t, checked, 17)
}

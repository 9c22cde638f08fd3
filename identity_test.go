package authcube_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
	"github.com/authcube/authcube/identity/webhook"
)

// firebaseEnv is an Env with firebase_phone and firebase_email providers trusting issuer, whose
// clock follows the Env's.
func firebaseEnv(t *testing.T) (*authtest.Env, *firebasetest.Issuer, authcube.Session) {
	clock := newClock()
	issuer := firebasetest.NewIssuer("demo-project")
	issuer.Now = clock.Now
	env := authtest.New(t, authtest.WithClock(clock), authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier(), "firebase_email": issuer.Verifier()}
	}))
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	return env, issuer, app
}

func TestPhoneSignIn(t *testing.T) {
	t.Parallel()
	env, issuer, app := firebaseEnv(t)
	u, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("uid-1", "+447911123456")})
	require.NoError(t, err)
	assert.Equal(t, "+447911123456", u.Phone)
	assert.Empty(t, u.Login)
	s, err := env.Engine.Session(ctx, app.Token)
	require.NoError(t, err)
	assert.Equal(t, u.ID, s.UserID)

	// The same Firebase user again is the same local user, also through CreateUserSession.
	s2, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("uid-1", "+447911123456")})
	require.NoError(t, err)
	assert.Equal(t, u.ID, s2.UserID)

	// A phone user may update its profile though it has neither login nor email.
	got, err := env.Engine.UpdateUser(ctx, s2.Token, authcube.UserUpdate{FullName: new("Phone User")})
	require.NoError(t, err)
	assert.Equal(t, "Phone User", got.FullName)

	// An email token is not a phone sign-in.
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: issuer.EmailToken("uid-2", "a@example.org")})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "unknown", Token: "x"})
	requireCode(t, err, authcube.ErrInvalid, "provider")
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone"})
	requireCode(t, err, authcube.ErrInvalid, "token")
}

func TestProviderTokensThatFail(t *testing.T) {
	t.Parallel()
	env, issuer, app := firebaseEnv(t)
	other := firebasetest.NewIssuer("demo-project")
	claims := issuer.Claims("uid-9")
	claims["aud"] = "another-project"
	for name, tok := range map[string]string{
		"other keys":    other.PhoneToken("uid-9", "+447911123456"),
		"other project": issuer.Token(claims),
		"garbage":       "not.a.token",
		"oversized":     string(make([]byte, 9<<10)),
	} {
		_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: tok})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		_ = name
	}
	// Expired by the clock.
	tok := issuer.PhoneToken("uid-9", "+447911123456")
	env.Clock.Advance(2 * time.Hour)
	_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: tok})
	requireCode(t, err, authcube.ErrUnauthorized, "") // the session expired too
	app, err = env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: tok})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
}

// S22: a verified email from a provider never takes over the local account with that email.
func TestProviderUserNeverMergesWithLocalUser(t *testing.T) {
	t.Parallel()
	env, issuer, app := firebaseEnv(t)
	local, err := env.Engine.SignUp(ctx, app.Token, authcube.NewUser{Email: "ann@example.org", Password: authtest.Password})
	require.NoError(t, err)
	u, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_email", Token: issuer.EmailToken("fb-ann", "ann@example.org")})
	require.NoError(t, err)
	assert.NotEqual(t, local.ID, u.ID, "a new user, not the local one")
	assert.Empty(t, u.Email, "the taken email is not given to it")

	fresh, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_email", Token: issuer.EmailToken("fb-bob", "bob@example.org")})
	require.NoError(t, err)
	assert.Equal(t, "bob@example.org", fresh.Email, "a free verified email is kept")
}

// fakeIdP is a custom identity provider in memory: login -> (password, profile).
type fakeIdP struct {
	mu    sync.Mutex
	users map[string]struct {
		password string
		profile  identity.Profile
	}
	calls atomic.Int64
	down  atomic.Bool
}

func (f *fakeIdP) add(login, password string, p identity.Profile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.users == nil {
		f.users = map[string]struct {
			password string
			profile  identity.Profile
		}{}
	}
	f.users[login] = struct {
		password string
		profile  identity.Profile
	}{password, p}
}

func (f *fakeIdP) VerifyPassword(_ context.Context, login, password string) (identity.Profile, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return identity.Profile{}, context.DeadlineExceeded
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[login]
	if !ok || u.password != password {
		return identity.Profile{}, identity.ErrRejected
	}
	return u.profile, nil
}

func TestCustomIdentityProvider(t *testing.T) {
	t.Parallel()
	idp := &fakeIdP{}
	idp.add("bigbird", "external secret", identity.Profile{Subject: "ext-1", Login: "bigbird", Email: "bird@example.org", FullName: "Big Bird"})
	idp.add("elmo", "x", identity.Profile{Subject: "ext-2", FullName: "Elmo"}) // "x": no local password rules
	env := authtest.New(t,
		authtest.WithConfig(func(c *authcube.Config) { c.Identity = idp }),
		authtest.WithUsers(authcube.NewUser{Login: "elmo", Email: "elmo@example.org", Password: authtest.Password}),
	)
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)

	u, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: "external secret"})
	require.NoError(t, err)
	assert.Equal(t, "bigbird", u.Login)
	assert.Equal(t, "bird@example.org", u.Email)
	assert.Equal(t, "Big Bird", u.FullName)

	// The same external user signing in twice stays one local user; its name is refreshed.
	idp.add("bigbird", "external secret", identity.Profile{Subject: "ext-1", Login: "bigbird", FullName: "Big Bird Jr"})
	again, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: "external secret"})
	require.NoError(t, err)
	assert.Equal(t, u.ID, again.ID)
	assert.Equal(t, "Big Bird Jr", again.FullName)

	// A local user named like an external one is untouched: the provider is not asked for it,
	// and the local password works.
	calls := idp.calls.Load()
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "elmo", Password: "x"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	assert.Equal(t, calls, idp.calls.Load())
	local, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "elmo", Password: authtest.Password})
	require.NoError(t, err)
	assert.Equal(t, "elmo@example.org", local.Email)

	// Wrong password at the provider, unknown login, provider down: all deny as one error.
	for name, c := range map[string]authcube.Credentials{
		"wrong password": {Login: "bigbird", Password: "guess"},
		"unknown":        {Login: "nobody", Password: "guess"},
	} {
		_, err := env.Engine.SignIn(ctx, app.Token, c)
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		_ = name
	}
	idp.down.Store(true)
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: "external secret"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
}

// A provider user whose login is taken locally gets a free login; whose email is taken, none.
func TestCustomIdentityProviderLoginCollision(t *testing.T) {
	t.Parallel()
	idp := &fakeIdP{}
	env := authtest.New(t,
		authtest.WithConfig(func(c *authcube.Config) { c.Identity = idp }),
		authtest.WithUsers(authcube.NewUser{Login: "grover", Email: "grover@example.org", Password: authtest.Password}),
	)
	idp.add("grover.ext", "pw", identity.Profile{Subject: "ext-g", Login: "grover", Email: "grover@example.org"})
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	u, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "grover.ext", Password: "pw"})
	require.NoError(t, err)
	assert.Equal(t, "grover-2", u.Login)
	assert.Empty(t, u.Email)
	local, err := env.Engine.UserByLogin(ctx, app.Token, "grover")
	require.NoError(t, err)
	assert.Equal(t, "grover@example.org", local.Email, "the local user is untouched")
}

// Throttling covers the custom provider (S9).
func TestCustomIdentityProviderIsThrottled(t *testing.T) {
	t.Parallel()
	idp := &fakeIdP{}
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) {
		c.Identity = idp
		c.Throttle = authcube.ThrottleParams{Free: 3}
	}))
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	for range 3 {
		_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "someone", Password: "guess"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	calls := idp.calls.Load()
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "someone", Password: "guess"})
	requireCode(t, err, authcube.ErrThrottled, "")
	assert.Equal(t, calls, idp.calls.Load(), "the provider is not asked while throttled")
}

// The HTTP provider end to end: a provider that answers slowly denies within its timeout.
func TestWebhookIdentityProvider(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Login, Password string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		switch {
		case req.Login == "slow":
			<-release
		case req.Login == "oscar" && req.Password == "trash can":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id": 42, "login": "oscar", "full_name": "Oscar"}`))
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	p, err := webhook.New(webhook.Config{URL: srv.URL, Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) { c.Identity = p }))
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)

	u, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "oscar", Password: "trash can"})
	require.NoError(t, err)
	assert.Equal(t, "Oscar", u.FullName)
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "oscar", Password: "wrong"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "slow", Password: "x"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
}

// A provider login that collides with a local one whose canonical form is shorter than its
// display form ("ｶﾞ" folds to one letter) still gets a free login, not a panic.
func TestCustomIdentityProviderLongLoginCollision(t *testing.T) {
	t.Parallel()
	idp := &fakeIdP{}
	long := strings.Repeat("ｶﾞ", 32)
	env := authtest.New(t,
		authtest.WithConfig(func(c *authcube.Config) { c.Identity = idp }),
		authtest.WithUsers(authcube.NewUser{Login: strings.Repeat("ガ", 32), Password: authtest.Password}),
	)
	idp.add("kana", "pw", identity.Profile{Subject: "ext-k", Login: long})
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	u, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "kana", Password: "pw"})
	require.NoError(t, err)
	assert.NotEmpty(t, u.Login)
	assert.True(t, strings.HasSuffix(u.Login, "-2"), u.Login)
}

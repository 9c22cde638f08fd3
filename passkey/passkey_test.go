package passkey_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/passkey"
)

const origin = "https://app.example.com"

type fixture struct {
	env  *authtest.Env
	pk   *passkey.Service
	log  *bytes.Buffer
	user authcube.User
	tok  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := authtest.NewClock(authtest.Start)
	var logs bytes.Buffer
	pk, err := passkey.New(passkey.Config{RPID: "app.example.com", Origins: []string{origin}, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	env := authtest.New(t, authtest.WithClock(clock), authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{passkey.Provider: pk}
	}), authtest.WithUsers(authcube.NewUser{Login: "ann01", Password: authtest.Password}))
	require.NoError(t, pk.Attach(env.Engine))
	u, s := env.SignedIn(t, "ann01")
	return &fixture{env: env, pk: pk, log: &logs, user: u, tok: s.Token}
}

func (f *fixture) register(t *testing.T, a *authenticator, name string) passkey.Passkey {
	t.Helper()
	opts, err := f.pk.BeginRegistration(t.Context(), f.tok)
	require.NoError(t, err)
	p, err := f.pk.FinishRegistration(t.Context(), f.tok, name, a.create(t, opts))
	require.NoError(t, err)
	return p
}

// signIn runs a discoverable passkey sign-in (login "") or one for a login; it returns the
// answer it sent too, for replays.
func (f *fixture) signIn(t *testing.T, a *authenticator, login string) (authcube.User, []byte, error) {
	t.Helper()
	app, err := f.env.Engine.CreateSession(t.Context())
	require.NoError(t, err)
	opts, err := f.pk.BeginLogin(t.Context(), app.Token, login)
	require.NoError(t, err)
	answer := a.get(t, opts)
	u, err := f.env.Engine.SignIn(t.Context(), app.Token, passkey.Credentials(answer))
	return u, answer, err
}

// S42: register, list, sign in with the passkey (discoverable and for a login), rename, remove.
func TestPasskeyLifecycle(t *testing.T) {
	f := newFixture(t)
	a := newAuthenticator(t, origin, "app.example.com")
	p := f.register(t, a, "laptop")
	assert.Equal(t, "laptop", p.Name)

	list, err := f.pk.Passkeys(t.Context(), f.tok)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, p.ID, list[0].ID)

	u, _, err := f.signIn(t, a, "")
	require.NoError(t, err)
	assert.Equal(t, f.user.ID, u.ID, "a discoverable passkey signs its user in")
	u, _, err = f.signIn(t, a, "ann01")
	require.NoError(t, err)
	assert.Equal(t, f.user.ID, u.ID)

	require.NoError(t, f.pk.Rename(t.Context(), f.tok, p.ID, "work laptop"))
	list, _ = f.pk.Passkeys(t.Context(), f.tok)
	assert.Equal(t, "work laptop", list[0].Name)

	require.NoError(t, f.pk.Remove(t.Context(), f.tok, p.ID), "the user has a password: not the last way in")
	_, _, err = f.signIn(t, a, "")
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "a removed passkey signs nobody in")
	require.ErrorIs(t, f.pk.Remove(t.Context(), f.tok, p.ID), authcube.ErrNotFound)
}

// S42: an answer replayed (same challenge) is refused; so is one whose challenge expired.
func TestPasskeyReplayAndExpiryRefused(t *testing.T) {
	f := newFixture(t)
	a := newAuthenticator(t, origin, "app.example.com")
	f.register(t, a, "")
	_, answer, err := f.signIn(t, a, "")
	require.NoError(t, err)
	app, err := f.env.Engine.CreateSession(t.Context())
	require.NoError(t, err)
	_, err = f.env.Engine.SignIn(t.Context(), app.Token, passkey.Credentials(answer))
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "the challenge is single use")

	opts, err := f.pk.BeginLogin(t.Context(), app.Token, "")
	require.NoError(t, err)
	f.env.Clock.Advance(passkey.ChallengeTTL)
	_, err = f.env.Engine.SignIn(t.Context(), app.Token, passkey.Credentials(a.get(t, opts)))
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "the challenge expired")
}

// S42: a sign counter that does not grow (a cloned authenticator) is refused and logged.
func TestPasskeyCloneRefused(t *testing.T) {
	f := newFixture(t)
	a := newAuthenticator(t, origin, "app.example.com")
	f.register(t, a, "")
	clone := *a
	_, _, err := f.signIn(t, a, "")
	require.NoError(t, err)
	_, _, err = f.signIn(t, a, "")
	require.NoError(t, err)
	_, _, err = f.signIn(t, &clone, "") // the clone's counter is behind
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials)
	assert.Contains(t, f.log.String(), "cloned authenticator")
}

// S42: another origin or relying party is refused; so is a registration answered for another
// user's challenge, and a credential id registered twice.
func TestPasskeyOriginAndUniqueness(t *testing.T) {
	f := newFixture(t)
	evil := newAuthenticator(t, "https://evil.example", "app.example.com")
	opts, err := f.pk.BeginRegistration(t.Context(), f.tok)
	require.NoError(t, err)
	_, err = f.pk.FinishRegistration(t.Context(), f.tok, "", evil.create(t, opts))
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "another origin")

	wrongRP := newAuthenticator(t, origin, "example.org")
	opts, err = f.pk.BeginRegistration(t.Context(), f.tok)
	require.NoError(t, err)
	_, err = f.pk.FinishRegistration(t.Context(), f.tok, "", wrongRP.create(t, opts))
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "another relying party")

	a := newAuthenticator(t, origin, "app.example.com")
	f.register(t, a, "")
	// Bob registers Ann's credential id: refused, the id is unique.
	env := f.env
	_, bobSession := env.SignedIn(t, "bob01")
	opts, err = f.pk.BeginRegistration(t.Context(), bobSession.Token)
	require.NoError(t, err)
	_, err = f.pk.FinishRegistration(t.Context(), bobSession.Token, "", a.create(t, opts))
	require.ErrorIs(t, err, authcube.ErrConflict)

	// A challenge begun for Ann, finished by Bob, is refused.
	opts, err = f.pk.BeginRegistration(t.Context(), f.tok)
	require.NoError(t, err)
	_, err = f.pk.FinishRegistration(t.Context(), bobSession.Token, "", newAuthenticator(t, origin, "app.example.com").create(t, opts))
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials)
}

// fakeIdP accepts any token as the subject it names.
type fakeIdP struct{}

func (fakeIdP) VerifyToken(_ context.Context, tok string) (identity.Claims, error) {
	return identity.Claims{Subject: tok}, nil
}

// The last passkey of an account without a password cannot be removed: it is the last way in.
func TestPasskeyLastWayInKept(t *testing.T) {
	clock := authtest.NewClock(authtest.Start)
	pk, err := passkey.New(passkey.Config{RPID: "app.example.com", Origins: []string{origin}, Now: clock.Now})
	require.NoError(t, err)
	env := authtest.New(t, authtest.WithClock(clock), authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{passkey.Provider: pk, "idp": fakeIdP{}}
	}))
	require.NoError(t, pk.Attach(env.Engine))
	s, err := env.Engine.CreateUserSession(t.Context(), authcube.Credentials{Provider: "idp", Token: "sub-1"})
	require.NoError(t, err)
	a, b := newAuthenticator(t, origin, "app.example.com"), newAuthenticator(t, origin, "app.example.com")
	var ids []string
	for _, au := range []*authenticator{a, b} {
		opts, err := pk.BeginRegistration(t.Context(), s.Token)
		require.NoError(t, err)
		p, err := pk.FinishRegistration(t.Context(), s.Token, "", au.create(t, opts))
		require.NoError(t, err)
		ids = append(ids, p.ID)
	}
	require.NoError(t, pk.Remove(t.Context(), s.Token, ids[0]))
	err = pk.Remove(t.Context(), s.Token, ids[1])
	require.ErrorIs(t, err, authcube.ErrInvalid, "the last passkey of an account without a password")
	list, _ := pk.Passkeys(t.Context(), s.Token)
	assert.Len(t, list, 1)
}

// A passkey whose authenticator verified the user is two factors: it satisfies the second
// factor of a user with TOTP. One that saw the user present only is one factor, and the user
// is asked for a code after it, as after a password.
func TestPasskeySatisfiesSecondFactorOnlyWithUserVerification(t *testing.T) {
	f := newFixture(t)
	verified, present := newAuthenticator(t, origin, "app.example.com"), newAuthenticator(t, origin, "app.example.com")
	present.noUV = true
	f.register(t, verified, "phone")
	f.register(t, present, "key")
	enrol, err := f.env.Engine.EnrollTOTP(t.Context(), f.tok)
	require.NoError(t, err)
	_, err = f.env.Engine.ConfirmTOTP(t.Context(), f.tok, f.env.Clock.TOTPCode(enrol.Secret))
	require.NoError(t, err)

	_, err = f.env.Engine.CreateUserSession(t.Context(), authcube.Credentials{Login: "ann01", Password: authtest.Password})
	require.ErrorIs(t, err, authcube.ErrSecondFactorRequired, "a password is one factor")
	u, _, err := f.signIn(t, verified, "")
	require.NoError(t, err, "a user-verified passkey is two factors")
	require.Equal(t, f.user.ID, u.ID)
	_, _, err = f.signIn(t, present, "")
	require.ErrorIs(t, err, authcube.ErrSecondFactorRequired, "a passkey without user verification is one factor")
}

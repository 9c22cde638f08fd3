package oidc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/oidc"
	"github.com/authcube/authcube/identity/oidc/oidctest"
)

// SignIn with Credentials{Provider: "google", Token: idToken}: the verifier is an
// identity.TokenVerifier; the user is keyed by (provider, subject) and found again, with the
// email the provider verified; a token for another app is refused.
func TestEngineSignInWithIDToken(t *testing.T) {
	p := oidctest.New(t)
	v := verifier(t, p, p.ClientID, nil)
	other := verifier(t, p, "another-app", nil)
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"google": v, "other": other}
	}))
	ctx := t.Context()
	tok, err := p.IDToken(ctx, "n")
	require.NoError(t, err)

	s, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	u, err := env.Engine.SignIn(ctx, s.Token, authcube.Credentials{Provider: "google", Token: tok})
	require.NoError(t, err)
	assert.Equal(t, oidctest.Email, u.Email)

	s2, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	u2, err := env.Engine.SignIn(ctx, s2.Token, authcube.Credentials{Provider: "google", Token: tok})
	require.NoError(t, err)
	assert.Equal(t, u.ID, u2.ID, "the same (provider, subject) is the same user")

	s3, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	_, err = env.Engine.SignIn(ctx, s3.Token, authcube.Credentials{Provider: "other", Token: tok})
	require.True(t, errors.Is(err, authcube.ErrInvalidCredentials), "%v", err)

	_, err = env.Engine.SignIn(oidc.WithNonce(ctx, "not-n"), s3.Token, authcube.Credentials{Provider: "google", Token: tok})
	require.True(t, errors.Is(err, authcube.ErrInvalidCredentials), "%v", err)
}

// S9: ID-token sign-ins are throttled per provider and subject: after Free tokens of one
// subject refused (a wrong nonce), the right one is ErrThrottled until the back-off ends.
func TestEngineThrottlesIDTokenSignIns(t *testing.T) {
	p := oidctest.New(t)
	v := verifier(t, p, p.ClientID, nil)
	clock := authtest.NewClock(authtest.Start)
	env := authtest.New(t, authtest.WithClock(clock), authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"google": v}
		c.Throttle = authcube.ThrottleParams{Free: 2, Base: time.Minute, Max: time.Hour}
	}))
	ctx := t.Context()
	tok, err := p.IDToken(ctx, "n")
	require.NoError(t, err)
	creds := authcube.Credentials{Provider: "google", Token: tok}
	for range 2 {
		_, err := env.Engine.CreateUserSession(oidc.WithNonce(ctx, "not-n"), creds)
		require.True(t, errors.Is(err, authcube.ErrInvalidCredentials), "%v", err)
	}
	_, err = env.Engine.CreateUserSession(oidc.WithNonce(ctx, "n"), creds)
	require.True(t, errors.Is(err, authcube.ErrThrottled), "%v", err)
	clock.Advance(time.Minute)
	s, err := env.Engine.CreateUserSession(oidc.WithNonce(ctx, "n"), creds)
	require.NoError(t, err, "after the back-off")
	assert.True(t, s.IsUser())
}

package oidc_test

import (
	"errors"
	"testing"

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

package authcube_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity"
)

// claimsIdP accepts a token "subject" or "subject|email" (an email it says it verified).
type claimsIdP struct{}

func (claimsIdP) VerifyToken(_ context.Context, tok string) (identity.Claims, error) {
	if tok == "bad" {
		return identity.Claims{}, identity.ErrRejected
	}
	sub, email, _ := strings.Cut(tok, "|")
	return identity.Claims{Subject: sub, Email: email, EmailVerified: email != ""}, nil
}

func linkEngine(t *testing.T, linkEmail bool) *testEngine {
	return newTestEngine(t, unthrottled, func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"google": claimsIdP{}, "apple": claimsIdP{}}
		c.LinkVerifiedEmail = linkEmail
	})
}

// S43: a provider's verified email never merges accounts unless the app turns linking on.
func TestVerifiedEmailLinksOnlyWhenTurnedOn(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		te := linkEngine(t, on)
		app := te.appSession(t)
		ann, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "ann01", Email: "ann@example.com", Password: testPassword})
		require.NoError(t, err)
		u, err := te.SignIn(ctx, te.appSession(t).Token, authcube.Credentials{Provider: "google", Token: "g-1|Ann@Example.com"})
		require.NoError(t, err)
		assert.Equal(t, on, u.ID == ann.ID, "linking on: %v", on)
		// An email the provider did not verify never links.
		u, err = te.SignIn(ctx, te.appSession(t).Token, authcube.Credentials{Provider: "apple", Token: "a-1"})
		require.NoError(t, err)
		assert.NotEqual(t, ann.ID, u.ID)
	}
}

// S43: a signed-in user links and unlinks providers, never the last way in.
func TestLinkAndUnlinkIdentity(t *testing.T) {
	t.Parallel()
	te := linkEngine(t, false)
	// A user who came from google has no password.
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Provider: "google", Token: "g-1"})
	require.NoError(t, err)
	err = te.UnlinkIdentity(ctx, s.Token, "google")
	requireCode(t, err, authcube.ErrInvalid, "provider")

	requireCode(t, te.LinkIdentity(ctx, s.Token, authcube.Credentials{Provider: "apple", Token: "bad"}), authcube.ErrInvalidCredentials, "")
	require.NoError(t, te.LinkIdentity(ctx, s.Token, authcube.Credentials{Provider: "apple", Token: "a-1"}))
	ids, err := te.Identities(ctx, s.Token)
	require.NoError(t, err)
	require.Len(t, ids, 2)

	// apple now signs in to the same user.
	u, err := te.SignIn(ctx, te.appSession(t).Token, authcube.Credentials{Provider: "apple", Token: "a-1"})
	require.NoError(t, err)
	assert.Equal(t, s.UserID, u.ID)

	// Another user cannot take the linked identity.
	other, err := te.CreateUserSession(ctx, authcube.Credentials{Provider: "google", Token: "g-2"})
	require.NoError(t, err)
	requireCode(t, te.LinkIdentity(ctx, other.Token, authcube.Credentials{Provider: "apple", Token: "a-1"}), authcube.ErrConflict, "identity")

	require.NoError(t, te.UnlinkIdentity(ctx, s.Token, "google"), "apple is left")
	requireCode(t, te.UnlinkIdentity(ctx, s.Token, "apple"), authcube.ErrInvalid, "provider")
	requireCode(t, te.UnlinkIdentity(ctx, s.Token, "google"), authcube.ErrNotFound, "provider")
	requireCode(t, te.LinkIdentity(ctx, s.Token, authcube.Credentials{Provider: "passkey", Token: "x"}), authcube.ErrInvalid, "provider")

	app := te.appSession(t)
	requireCode(t, te.LinkIdentity(ctx, app.Token, authcube.Credentials{Provider: "apple", Token: "a-9"}), authcube.ErrForbidden, "")
}

package authcube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
)

// firebaseEngine is a test engine without throttling, with firebase_phone and firebase_email
// providers trusting a test issuer on the engine's clock, and the custom identity provider idp.
func firebaseEngine(t *testing.T, idp identity.PasswordVerifier) (*testEngine, *firebasetest.Issuer) {
	issuer := firebasetest.NewIssuer("demo-project")
	te := newTestEngine(t, unthrottled, func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier(), "firebase_email": issuer.Verifier()}
		c.Identity = idp
	})
	issuer.Now = te.clock.Now
	return te, issuer
}

// S21: a Firebase ID token of another project is refused for that reason alone: the same claims
// with this project's audience sign in.
func TestProviderTokenOfAnotherProjectIsRefused(t *testing.T) {
	t.Parallel()
	te, issuer := firebaseEngine(t, nil)
	app := te.appSession(t)
	phoneClaims := func(aud string) map[string]any {
		c := issuer.Claims("uid-21")
		c["aud"] = aud
		c["phone_number"] = "+447911123456"
		c["firebase"] = map[string]any{"identities": map[string]any{"phone": []string{"+447911123456"}}, "sign_in_provider": "phone"}
		return c
	}
	for _, aud := range []string{"another-project", "demo-project-2", "demo", "Demo-Project", ""} {
		_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: issuer.Token(phoneClaims(aud))})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	c := phoneClaims("another-project")
	c["aud"] = []string{"another-project", "demo-project"} // a list is not this project either
	_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: issuer.Token(c)})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")

	u, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: issuer.Token(phoneClaims("demo-project"))})
	require.NoError(t, err, "the same claims for this project sign in")
	assert.Equal(t, "+447911123456", u.Phone)
}

// S22: users from providers are keyed by (provider, subject): one subject signing in through
// two token providers and the custom identity provider is three users, each found again by its
// own provider.
func TestOneSubjectThroughTwoProvidersIsTwoUsers(t *testing.T) {
	t.Parallel()
	idp := &fakeIdP{}
	idp.add("bigbird", "external secret", identity.Profile{Subject: "uid-22"})
	te, issuer := firebaseEngine(t, idp)
	app := te.appSession(t)
	signIn := func(c authcube.Credentials) int64 {
		t.Helper()
		u, err := te.SignIn(ctx, app.Token, c)
		require.NoError(t, err, "%+v", c.Provider)
		return u.ID
	}
	phone := authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("uid-22", "+447911123456")}
	email := authcube.Credentials{Provider: "firebase_email", Token: issuer.EmailToken("uid-22", "bird@example.org")}
	custom := authcube.Credentials{Login: "bigbird", Password: "external secret"}
	ids := []int64{signIn(phone), signIn(email), signIn(custom)}
	assert.NotEqual(t, ids[0], ids[1], "firebase_phone and firebase_email")
	assert.NotEqual(t, ids[0], ids[2], "firebase_phone and the custom provider")
	assert.NotEqual(t, ids[1], ids[2], "firebase_email and the custom provider")
	assert.Equal(t, ids, []int64{signIn(phone), signIn(email), signIn(custom)}, "each provider finds its own user again")
}

// S21: the engine's rules for the two Firebase providers, each alone: firebase_phone needs
// firebase.sign_in_provider "phone" and a phone_number; firebase_email needs an email the
// provider verified. Each refused token signs in once only the rule's claim is set right.
func TestFirebaseProviderRulesEachAlone(t *testing.T) {
	t.Parallel()
	te, issuer := firebaseEngine(t, nil)
	app := te.appSession(t)
	const phone = "+447911123456"
	phoneClaims := func(signInProvider string) map[string]any {
		c := issuer.Claims("uid-phone")
		c["phone_number"] = phone
		c["firebase"] = map[string]any{"identities": map[string]any{"phone": []string{phone}}, "sign_in_provider": signInProvider}
		return c
	}
	emailClaims := func(verified any) map[string]any {
		c := issuer.Claims("uid-email")
		c["email"] = "bird@example.org"
		if verified != nil {
			c["email_verified"] = verified
		}
		c["firebase"] = map[string]any{"identities": map[string]any{"email": []string{"bird@example.org"}}, "sign_in_provider": "password"}
		return c
	}
	noPhone := phoneClaims("phone")
	delete(noPhone, "phone_number")
	noEmail := emailClaims(true)
	delete(noEmail, "email")
	for name, c := range map[string]authcube.Credentials{
		"phone, signed in by a custom token":    {Provider: "firebase_phone", Token: issuer.Token(phoneClaims("custom"))},
		"phone, signed in by password":          {Provider: "firebase_phone", Token: issuer.Token(phoneClaims("password"))},
		"phone, no phone_number":                {Provider: "firebase_phone", Token: issuer.Token(noPhone)},
		"email, not verified":                   {Provider: "firebase_email", Token: issuer.Token(emailClaims(false))},
		"email, email_verified missing":         {Provider: "firebase_email", Token: issuer.Token(emailClaims(nil))},
		"email, email_verified the string true": {Provider: "firebase_email", Token: issuer.Token(emailClaims("true"))},
		"email, no email":                       {Provider: "firebase_email", Token: issuer.Token(noEmail)},
	} {
		_, err := te.SignIn(ctx, app.Token, c)
		require.ErrorIs(t, err, authcube.ErrInvalidCredentials, name)
	}
	u, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: issuer.Token(phoneClaims("phone"))})
	require.NoError(t, err, "the same claims signed in by phone")
	assert.Equal(t, phone, u.Phone)
	u, err = te.SignIn(ctx, te.appSession(t).Token, authcube.Credentials{Provider: "firebase_email", Token: issuer.Token(emailClaims(true))})
	require.NoError(t, err, "the same claims with the email verified")
	assert.Equal(t, "bird@example.org", u.Email)
}

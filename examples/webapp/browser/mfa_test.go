package browser_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// mfaSite serves the app with email verification and sign-in codes on.
func mfaSite(t *testing.T) *site {
	return newSite(t, authtest.WithConfig(func(c *authcube.Config) {
		c.EmailVerification = authcube.EmailVerifySend
		c.SignInCodes = true
	}))
}

// enrol turns two-factor authentication on from the security page and returns the secret and
// the recovery codes shown.
func (b *tab) enrol() (string, []string) {
	b.t.Helper()
	b.open("/security")
	require.Contains(b.t, b.text("#totp-status"), "off")
	b.run("turn on", b.clickAndWait("#enroll")...)
	secret := b.text("#secret")
	require.NotEmpty(b.t, secret, b.text("#error"))
	src, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#qr").src`))
	require.NoError(b.t, err)
	assert.True(b.t, strings.HasPrefix(src, "data:image/png;base64,"), "the QR code is shown")
	loaded, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector("#qr").naturalWidth > 0`))
	require.NoError(b.t, err)
	assert.True(b.t, loaded, "the QR code image loads under the page's CSP")
	b.submit("confirm", "#confirm", "#code", "000000")
	require.Equal(b.t, "Wrong code.", b.text("#error"))
	b.submit("confirm", "#confirm", "#code", b.s.env.Clock.TOTPCode(secret))
	codes := strings.Fields(b.text("#recovery-codes"))
	require.GreaterOrEqual(b.t, len(codes), 8, b.text("#error"))
	b.s.env.Clock.Advance(30 * time.Second) // past the confirming code's step
	return secret, codes
}

func TestBrowserTwoFactorEnrolAndSignIn(t *testing.T) {
	s := mfaSite(t)
	b := newTab(t, s, "ann")
	b.signUp("ann", "ann@example.com")
	secret, codes := b.enrol()
	b.open("/security")
	assert.Contains(t, b.text("#totp-status"), "on")
	b.run("sign out", b.clickAndWait("#signout")...)

	// A wrong password: the usual error, no code step.
	b.signIn("ann", "wrong password!", false)
	assert.Equal(t, "Wrong login or password.", b.text("#error"))
	assert.Empty(t, b.text("#code-form"))

	// The right password: the code step, then signed in.
	b.signIn("ann", password, false)
	require.Equal(t, "Two-factor authentication", b.text("h1"))
	assert.Empty(t, b.whoami(), "not signed in before the code")
	b.submit("wrong code", "#submit", "#code", "000000")
	assert.Equal(t, "Wrong code.", b.text("#error"))
	b.submit("code", "#submit", "#code", s.env.Clock.TOTPCode(secret))
	assert.Contains(t, b.whoami(), "ann")

	// A recovery code instead, once.
	b.run("sign out", b.clickAndWait("#signout")...)
	b.signIn("ann", password, false)
	b.submit("recovery code", "#submit", "#code", codes[0])
	assert.Contains(t, b.whoami(), "ann")
	b.run("sign out", b.clickAndWait("#signout")...)
	b.signIn("ann", password, false)
	b.submit("used recovery code", "#submit", "#code", codes[0])
	assert.Equal(t, "Wrong code.", b.text("#error"))
	s.env.Clock.Advance(30 * time.Second)
	b.submit("code", "#submit", "#code", s.env.Clock.TOTPCode(secret))
	assert.Contains(t, b.whoami(), "ann")

	// New recovery codes, then off with the password.
	b.open("/security")
	assert.Equal(t, strconv.Itoa(len(codes)-1), b.text("#codes-left"), "one was used")
	b.submit("new codes", "#regenerate", "#regen-proof", password)
	assert.Len(t, strings.Fields(b.text("#recovery-codes")), len(codes))
	b.open("/security")
	b.submit("turn off", "#disable", "#proof", password)
	assert.Equal(t, "/security?done=totp-off", b.location())
	b.run("sign out", b.clickAndWait("#signout")...)
	b.signIn("ann", password, false)
	assert.Contains(t, b.whoami(), "ann", "the password alone again")
}

func TestBrowserEmailVerification(t *testing.T) {
	s := mfaSite(t)
	b := newTab(t, s, "ann")
	b.signUp("ann", "ann@example.com")
	b.open("/security")
	assert.Contains(t, b.text("#email-status"), "not verified")
	token := s.env.Mailbox.LastVerifyToken()
	require.NotEmpty(t, token)
	b.open("/verify-email?token=" + url.QueryEscape(token))
	assert.Equal(t, "/?done=verified", b.location())
	b.open("/security")
	assert.Contains(t, b.text("#email-status"), "is verified")

	b.open("/verify-email?token=" + url.QueryEscape(token))
	assert.Contains(t, b.text("#error"), "invalid or has expired", "single use")
}

func TestBrowserEmailMeACode(t *testing.T) {
	s := mfaSite(t)
	b := newTab(t, s, "ann")
	b.signUp("ann", "ann@example.com")
	b.run("sign out", b.clickAndWait("#signout")...)

	b.open("/signin")
	b.run("email me a code", b.clickAndWait("#email-code-link")...)
	b.submit("send", "#send", "#email", "ann@example.com")
	assert.Contains(t, b.text("#notice"), "If an account has this address")
	require.NoError(t, s.env.Engine.FlushMail(t.Context()))
	code := s.env.Mailbox.LastSignInCode()
	require.Len(t, code, 6)
	b.submit("wrong code", "#submit", "#code", "000000")
	assert.Equal(t, "Wrong login or password.", b.text("#error"))
	b.submit("code", "#submit", "#code", code)
	assert.Contains(t, b.whoami(), "ann")
	b.open("/security")
	assert.Contains(t, b.text("#email-status"), "is verified", "a code verifies the address")

	// An unknown address gets the same page.
	c := newTab(t, s, "stranger")
	c.open("/signin/email")
	c.submit("send", "#send", "#email", "nobody@example.com")
	assert.Contains(t, c.text("#notice"), "If an account has this address")
}

package browser_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/examples/webapp/app"
	"github.com/authcube/authcube/httpauth"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/oidc"
	"github.com/authcube/authcube/identity/oidc/oidctest"
	"github.com/authcube/authcube/passkey"
)

// recorder keeps the last request body and URL seen on a path.
type recorder struct {
	mu   sync.Mutex
	body []byte
	url  string
}

func (rec *recorder) wrap(path string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			b, _ := io.ReadAll(r.Body)
			rec.mu.Lock()
			rec.body, rec.url = b, r.URL.String()
			rec.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		next.ServeHTTP(w, r)
	})
}

// extendedSite serves the app with passkeys and, when prov is set, the code flow of provider
// "idp", on http://localhost:port (WebAuthn needs a domain, not an IP address).
func extendedSite(t *testing.T, withOIDC bool, record string) (*site, *recorder, *oidctest.Provider) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + port
	clock := authtest.NewClock(authtest.Start)
	pk, err := passkey.New(passkey.Config{RPID: "localhost", Origins: []string{base}, Now: clock.Now})
	require.NoError(t, err)
	providers := map[string]identity.TokenVerifier{passkey.Provider: pk}
	opts := app.Options{Passkeys: pk}
	var prov *oidctest.Provider
	if withOIDC {
		prov = oidctest.New(t, base+"/auth/oidc/idp/callback")
		v, err := oidc.New(oidc.Config{Issuer: prov.Issuer, ClientID: prov.ClientID})
		require.NoError(t, err)
		providers["idp"] = v
		opts.OIDC = httpauth.OIDCConfig{Providers: map[string]httpauth.OIDCProvider{
			"idp": {Verifier: v, ClientSecret: prov.ClientSecret, RedirectURL: base + "/auth/oidc/idp/callback"},
		}}
	}
	env := authtest.New(t, authtest.WithClock(clock), authtest.WithConfig(func(c *authcube.Config) {
		c.ResetURL = base + "/reset?token={token}"
		c.Providers = providers
	}))
	require.NoError(t, pk.Attach(env.Engine))
	h, err := app.NewWith(env.Engine, httpauth.Config{Insecure: true}, opts)
	require.NoError(t, err)
	rec := &recorder{}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: rec.wrap(record, h)}}
	srv.Start()
	t.Cleanup(srv.Close)
	return &site{env: env, base: base}, rec, prov
}

// virtualAuthenticator gives the tab a platform authenticator with resident keys and user
// verification, answering at once.
func (b *tab) virtualAuthenticator() cdpwebauthn.AuthenticatorID {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{})
	require.NoError(b.t, err)
	res, err := chromedp.Call(b.ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
			Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	require.NoError(b.t, err)
	return res.AuthenticatorID
}

// TestBrowserPasskeyRegisterSignInRemove: sign up, add a passkey with a virtual
// authenticator, sign out, sign in with the passkey (no login typed), remove it; an assertion
// replayed is refused (S42).
func TestBrowserPasskeyRegisterSignInRemove(t *testing.T) {
	s, rec, _ := extendedSite(t, false, "/auth/passkeys/login/finish")
	b := newTab(t, s, "ann")
	authID := b.virtualAuthenticator()
	b.signUp("ann01", "ann@example.com")

	b.open("/passkeys")
	b.submit("add a passkey", "#passkey-add", "#passkey-name", "Virtual key")
	require.Equal(t, "/passkeys?done=passkey", b.location(), b.text("#passkey-error"))
	assert.Equal(t, "Virtual key", b.text(".passkey-name"))
	creds, err := chromedp.Call(b.ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: authID})
	require.NoError(t, err)
	require.Len(t, creds.Credentials, 1)
	assert.True(t, creds.Credentials[0].IsResidentCredential, "a discoverable passkey")

	b.run("sign out", b.clickAndWait("#signout")...)
	assert.Empty(t, b.whoami())

	b.open("/signin")
	b.run("sign in with a passkey", b.clickAndWait("#passkey-signin")...)
	assert.Contains(t, b.whoami(), "ann01", b.text("#passkey-error"))

	// The assertion the browser sent, replayed by an attacker who saw it, signs nobody in.
	rec.mu.Lock()
	replay := rec.body
	rec.mu.Unlock()
	require.NotEmpty(t, replay)
	resp, err := http.Post(s.base+"/auth/passkeys/login/finish", "application/json", bytes.NewReader(replay))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a replayed assertion is refused")
	assert.Empty(t, resp.Cookies(), "and no session cookie is set")

	b.open("/passkeys")
	b.run("remove the passkey", b.clickAndWait(".passkey-remove")...)
	assert.Equal(t, "/passkeys?done=passkey-removed", b.location(), b.text("#error"))
	assert.Empty(t, b.text(".passkey-name"))

	// The removed passkey no longer signs in.
	b.run("sign out", b.clickAndWait("#signout")...)
	b.open("/signin")
	b.run("sign in with the removed passkey", chromedp.Click(chromedp.CSS("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-error")))
	assert.Empty(t, b.whoami())
}

// TestBrowserOIDCCodeFlow: the whole authorization-code flow against a real OpenID provider
// (zitadel's op on loopback): start, the provider's login page, callback, signed in; a
// callback with a tampered state is refused (S43).
func TestBrowserOIDCCodeFlow(t *testing.T) {
	s, rec, _ := extendedSite(t, true, "/auth/oidc/idp/callback")
	b := newTab(t, s, "oidc")
	b.open("/signin")
	b.run("start", b.clickAndWait("#oidc-idp")...)
	require.Contains(t, b.location(), "/login/username", "the provider's login page")
	b.submit("provider login", "button[type=submit]", "#username", oidctest.Username, "#password", oidctest.Password)
	assert.Contains(t, b.whoami(), oidctest.Email, "signed in with the provider's verified email")

	b.run("sign out", b.clickAndWait("#signout")...)
	assert.Empty(t, b.whoami())

	// A new flow in this browser, then a callback whose state an attacker changed.
	rec.mu.Lock()
	cb := rec.url
	rec.mu.Unlock()
	u, err := url.Parse(cb)
	require.NoError(t, err)
	b.open("/signin")
	b.run("start again", b.clickAndWait("#oidc-idp")...)
	q := u.Query()
	q.Set("state", strings.Repeat("A", len(q.Get("state"))))
	u.RawQuery = q.Encode()
	b.run("tampered callback", chromedp.Navigate(s.base+u.RequestURI()), chromedp.WaitReady(chromedp.CSS("body")))
	assert.Contains(t, b.text("body"), "invalid", "refused")
	b.open("/")
	assert.Empty(t, b.whoami(), "not signed in")
}

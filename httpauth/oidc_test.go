package httpauth_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/httpauth"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/oidc"
	"github.com/authcube/authcube/identity/oidc/oidctest"
)

// oidcSite is an app with the code flow for provider "idp" of a real OpenID provider.
type oidcSite struct {
	srv  *httptest.Server
	prov *oidctest.Provider
	env  *authtest.Env
}

func newOIDCSite(t *testing.T) *oidcSite {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	prov := oidctest.New(t, srv.URL+"/auth/oidc/idp/callback")
	v, err := oidc.New(oidc.Config{Issuer: prov.Issuer, ClientID: prov.ClientID})
	require.NoError(t, err)
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"idp": v}
	}))
	auth, err := httpauth.New(env.Engine, httpauth.Config{Insecure: true})
	require.NoError(t, err)
	flow, err := auth.OIDC(httpauth.OIDCConfig{Providers: map[string]httpauth.OIDCProvider{
		"idp": {Verifier: v, ClientSecret: prov.ClientSecret, RedirectURL: srv.URL + "/auth/oidc/idp/callback"},
	}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/auth/oidc/", flow)
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) { _ = auth.SignOut(w, r) })
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		u, ok := httpauth.UserFrom(r.Context())
		if !ok {
			_, _ = w.Write([]byte("anonymous"))
			return
		}
		_, _ = w.Write([]byte(u.Email))
	})
	srv.Config.Handler = auth.Middleware(mux)
	return &oidcSite{srv: srv, prov: prov, env: env}
}

// browser follows redirects and keeps cookies; tamper, when set, rewrites the callback URL.
func browser(tamper func(*url.URL)) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if tamper != nil && strings.Contains(r.URL.Path, "/callback") {
			tamper(r.URL)
		}
		return nil
	}}
}

// login runs start and the provider's login page; it returns the final response's status
// and body.
func (s *oidcSite) login(t *testing.T, c *http.Client) (int, string) {
	t.Helper()
	resp, err := c.Get(s.srv.URL + "/auth/oidc/idp/start?next=/whoami")
	require.NoError(t, err)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(t, id, "the provider's login page: %s", resp.Request.URL)
	resp, err = c.PostForm(s.prov.Issuer+"/login/username", url.Values{"id": {id}, "username": {oidctest.Username}, "password": {oidctest.Password}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func (s *oidcSite) signOut(c *http.Client) error {
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/signout", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func (s *oidcSite) whoami(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, err := c.Get(s.srv.URL + "/whoami")
	require.NoError(t, err)
	defer resp.Body.Close()
	buf := make([]byte, 256)
	n, _ := resp.Body.Read(buf)
	return string(buf[:n])
}

// S43: the whole code flow against a real provider signs in and lands on "next".
func TestOIDCCodeFlowSignsIn(t *testing.T) {
	s := newOIDCSite(t)
	c := browser(nil)
	status, body := s.login(t, c)
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, oidctest.Email, body, "landed on next, signed in")
	assert.Equal(t, oidctest.Email, s.whoami(t, c))
}

// S43: a tampered state, a replayed callback and a callback without the flow's cookie are
// refused and sign nobody in.
func TestOIDCCallbackRefusals(t *testing.T) {
	s := newOIDCSite(t)
	for name, tamper := range map[string]func(*url.URL){
		"tampered state": func(u *url.URL) {
			q := u.Query()
			q.Set("state", q.Get("state")+"x")
			u.RawQuery = q.Encode()
		},
		"no state": func(u *url.URL) {
			q := u.Query()
			q.Del("state")
			u.RawQuery = q.Encode()
		},
		"tampered code": func(u *url.URL) {
			q := u.Query()
			q.Set("code", q.Get("code")+"x")
			u.RawQuery = q.Encode()
		},
	} {
		c := browser(tamper)
		status, _ := s.login(t, c)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Equal(t, "anonymous", s.whoami(t, c), name)
	}

	// A callback replayed, or carried to another browser, is refused: the flow cookie is
	// single use and the other browser has none.
	var callback string
	c := browser(func(u *url.URL) { callback = u.String() })
	status, _ := s.login(t, c)
	require.Equal(t, http.StatusOK, status)
	resp, err := browser(nil).Get(callback)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "another browser")
	require.NoError(t, s.signOut(c))
	resp, err = c.Get(callback)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "replayed in the same browser")
	assert.Equal(t, "anonymous", s.whoami(t, c))
}

// S43: a signed-in user links the provider through the code flow (link=1); the provider then
// signs in to that user. Without a user session, link=1 is refused.
func TestOIDCLinkToSignedInUser(t *testing.T) {
	s := newOIDCSite(t)
	c := browser(nil)
	resp, err := c.Get(s.srv.URL + "/auth/oidc/idp/start?link=1")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// Ann signs in with a password (a cookie set by the engine's own session).
	ann, sess := s.env.SignedIn(t, "ann01")
	u, _ := url.Parse(s.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: httpauth.DefaultInsecureCookieName, Value: sess.Token, Path: "/"}})
	resp, err = c.Get(s.srv.URL + "/auth/oidc/idp/start?link=1&next=/whoami")
	require.NoError(t, err)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(t, id)
	resp, err = c.PostForm(s.prov.Issuer+"/login/username", url.Values{"id": {id}, "username": {oidctest.Username}, "password": {oidctest.Password}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ids, err := s.env.Engine.Identities(t.Context(), sess.Token)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	assert.Equal(t, "idp", ids[0].Provider)

	// A fresh browser signing in with the provider is Ann.
	c2 := browser(nil)
	status, _ := s.login(t, c2)
	require.Equal(t, http.StatusOK, status)
	me, err := s.env.Engine.User(t.Context(), sess.Token, ann.ID)
	require.NoError(t, err)
	assert.Equal(t, ann.ID, me.ID)
	assert.Equal(t, me.Email, s.whoami(t, c2), "the same user (whoami shows the email)")
}

package httpauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/httpauth"
)

var ctx = context.Background()

// app is a small app over httpauth: sign-in and sign-up forms, sign-out, a protected page
// and a protected API, each reporting who it saw.
type app struct {
	t    *testing.T
	env  *authtest.Env
	auth *httpauth.Auth
	h    http.Handler
}

func newApp(t *testing.T, cfg httpauth.Config, opts ...authtest.Option) *app {
	t.Helper()
	env := authtest.New(t, append([]authtest.Option{authtest.WithUsers(authcube.NewUser{Login: "ann01", Password: authtest.Password})}, opts...)...)
	auth, err := httpauth.New(env.Engine, cfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	whoami := func(w http.ResponseWriter, r *http.Request) {
		u, ok := httpauth.UserFrom(r.Context())
		if !ok {
			_, _ = w.Write([]byte("anonymous"))
			return
		}
		_, _ = w.Write([]byte(u.Login))
	}
	mux.HandleFunc("GET /whoami", whoami)
	mux.HandleFunc("POST /whoami", whoami)
	mux.Handle("GET /private", auth.Require(http.HandlerFunc(whoami)))
	mux.Handle("POST /private", auth.Require(http.HandlerFunc(whoami)))
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		_, err := auth.SignInWith(w, r, authcube.Credentials{Login: r.FormValue("login"), Password: r.FormValue("password")},
			httpauth.SignInOptions{Remember: r.FormValue("remember") == "on"})
		if err != nil {
			httpauth.WriteError(w, r, err)
		}
	})
	mux.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.SignUp(w, r, authcube.NewUser{Login: r.FormValue("login"), Password: r.FormValue("password")}, httpauth.SignInOptions{}); err != nil {
			httpauth.WriteError(w, r, err)
		}
	})
	mux.HandleFunc("POST /signout", func(w http.ResponseWriter, r *http.Request) {
		if err := auth.SignOut(w, r); err != nil {
			httpauth.WriteError(w, r, err)
		}
	})
	mux.HandleFunc("POST /signout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		if err := auth.SignOutEverywhere(w, r); err != nil {
			httpauth.WriteError(w, r, err)
		}
	})
	return &app{t: t, env: env, auth: auth, h: auth.Middleware(mux)}
}

// do serves one request; hdr holds header name and value pairs.
func (a *app) do(method, path string, form url.Values, cookies []*http.Cookie, hdr ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, "http://app.example"+path, body)
	r.RemoteAddr = "198.51.100.7:4711"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func (a *app) signIn(login string, remember bool, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	a.t.Helper()
	form := url.Values{"login": {login}, "password": {authtest.Password}}
	if remember {
		form.Set("remember", "on")
	}
	return a.do("POST", "/signin", form, cookies)
}

func cookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no cookie %s in %v", name, w.Header().Values("Set-Cookie"))
	return nil
}

// S41: the session cookie is HttpOnly, Secure with the __Host- prefix, SameSite=Lax, Path=/,
// a browser-session cookie unless remembered; Insecure drops Secure and the prefix.
func TestCookieAttributesS41(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{})
	w := a.signIn("ann01", false)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	c := cookie(t, w, "__Host-authcube")
	assert.True(t, c.HttpOnly)
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain)
	assert.Zero(t, c.MaxAge, "a browser-session cookie")
	assert.True(t, c.Expires.IsZero())
	d := cookie(t, w, "__Host-authcube-device")
	assert.True(t, d.HttpOnly && d.Secure)
	assert.Equal(t, 400*24*3600, d.MaxAge)

	w = a.signIn("ann01", true)
	assert.Equal(t, 30*24*3600, cookie(t, w, "__Host-authcube").MaxAge, "remember me: persistent for the session's lifetime")

	insecure := newApp(t, httpauth.Config{Insecure: true})
	w = insecure.signIn("ann01", false)
	c = cookie(t, w, "authcube")
	assert.False(t, c.Secure)
	assert.True(t, c.HttpOnly)

	_, err := httpauth.New(a.env.Engine, httpauth.Config{Insecure: true, CookieName: "__Host-x"})
	require.Error(t, err, "__Host- needs Secure")
}

// S17 and S41: a cookie sign-in makes a fresh token and destroys the session of the cookie the
// browser had, so a token planted in the cookie jar is never signed in.
func TestSignInNeverUpgradesTheCookieToken(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{})
	planted, err := a.env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	w := a.signIn("ann01", false, &http.Cookie{Name: "__Host-authcube", Value: planted.Token})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	fresh := cookie(t, w, "__Host-authcube")
	assert.NotEqual(t, planted.Token, fresh.Value)
	_, err = a.env.Engine.Session(ctx, planted.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized, "the planted session is destroyed")
	s, err := a.env.Engine.Session(ctx, fresh.Value)
	require.NoError(t, err)
	assert.True(t, s.IsUser())
}

// The token comes from the cookie or from Authorization: Bearer; a dead cookie is cleared and
// the request goes on anonymous.
func TestMiddlewareReadsCookieAndBearer(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{})
	c := cookie(t, a.signIn("ann01", false), "__Host-authcube")
	assert.Equal(t, "ann01", a.do("GET", "/whoami", nil, []*http.Cookie{c}).Body.String())
	_, s := a.env.SignedIn(t, "bob02")
	assert.Equal(t, "bob02", a.do("GET", "/whoami", nil, nil, "Authorization", "Bearer "+s.Token).Body.String())
	assert.Equal(t, "anonymous", a.do("GET", "/whoami", nil, nil).Body.String())

	require.NoError(t, a.env.Engine.DestroySession(ctx, c.Value))
	w := a.do("GET", "/whoami", nil, []*http.Cookie{c})
	assert.Equal(t, "anonymous", w.Body.String())
	assert.Equal(t, -1, cookie(t, w, "__Host-authcube").MaxAge, "the dead cookie is cleared")
}

// Require: browsers are sent to the sign-in page with the page they wanted; API clients get
// a 401 problem.
func TestRequire(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{SignInPath: "/login"})
	w := a.do("GET", "/private?tab=1", nil, nil, "Accept", "text/html,application/xhtml+xml")
	assert.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/login?next=%2Fprivate%3Ftab%3D1", w.Header().Get("Location"))

	w = a.do("GET", "/private", nil, nil, "Accept", "application/json")
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "Bearer", w.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))
	var p map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, "unauthorized", p["code"])

	app, err := a.env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	w = a.do("GET", "/private", nil, nil, "Authorization", "Bearer "+app.Token)
	assert.Equal(t, http.StatusUnauthorized, w.Code, "an application session is no user")

	c := cookie(t, a.signIn("ann01", false), "__Host-authcube")
	assert.Equal(t, "ann01", a.do("GET", "/private", nil, []*http.Cookie{c}).Body.String())
}

// S41: unsafe requests without a Bearer header pass Go's CrossOriginProtection (a form posted
// from another site is refused, with or without the cookie); Bearer requests are not checked.
func TestCrossOriginRequestsS41(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{TrustedOrigins: []string{"https://trusted.example"}})
	c := cookie(t, a.signIn("ann01", false), "__Host-authcube")
	cookies := []*http.Cookie{c}

	w := a.do("POST", "/private", url.Values{}, cookies, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Body.String(), "cross-origin")
	w = a.do("POST", "/signin", url.Values{"login": {"ann01"}, "password": {authtest.Password}}, nil, "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, w.Code, "login CSRF")

	assert.Equal(t, "ann01", a.do("POST", "/private", url.Values{}, cookies, "Sec-Fetch-Site", "same-origin").Body.String())
	assert.Equal(t, "ann01", a.do("POST", "/private", url.Values{}, cookies, "Origin", "http://app.example").Body.String())
	assert.Equal(t, "ann01", a.do("POST", "/private", url.Values{}, cookies, "Sec-Fetch-Site", "cross-site", "Origin", "https://trusted.example").Body.String())
	assert.Equal(t, "ann01", a.do("GET", "/private", nil, cookies, "Sec-Fetch-Site", "cross-site").Body.String(), "safe methods pass")

	_, s := a.env.SignedIn(t, "bob02")
	w = a.do("POST", "/private", url.Values{}, nil, "Authorization", "Bearer "+s.Token, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	assert.Equal(t, "bob02", w.Body.String(), "Bearer requests carry no ambient authority")
}

// Sign-up signs in; sign-out ends the session and clears the cookie, keeping the device
// cookie; sign-out everywhere ends the user's other sessions too.
func TestSignUpSignOutEverywhere(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{})
	w := a.do("POST", "/signup", url.Values{"login": {"carol03"}, "password": {authtest.Password}}, nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	c := cookie(t, w, "__Host-authcube")
	assert.Equal(t, "carol03", a.do("GET", "/whoami", nil, []*http.Cookie{c}).Body.String())

	w = a.do("POST", "/signup", url.Values{"login": {"carol03"}, "password": {authtest.Password}}, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, w.Code, "a taken login")

	w = a.do("POST", "/signout", url.Values{}, []*http.Cookie{c})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, -1, cookie(t, w, "__Host-authcube").MaxAge)
	for _, sc := range w.Result().Cookies() {
		assert.NotEqual(t, "__Host-authcube-device", sc.Name, "the device cookie stays")
	}
	_, err := a.env.Engine.Session(ctx, c.Value)
	require.ErrorIs(t, err, authcube.ErrUnauthorized)

	one := cookie(t, a.signIn("ann01", false), "__Host-authcube")
	two := cookie(t, a.signIn("ann01", false), "__Host-authcube")
	_, api := a.env.SignedIn(t, "ann01")
	w = a.do("POST", "/signout-everywhere", url.Values{}, []*http.Cookie{one})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	for _, tok := range []string{one.Value, two.Value, api.Token} {
		_, err := a.env.Engine.Session(ctx, tok)
		assert.ErrorIs(t, err, authcube.ErrUnauthorized)
	}
}

// S36 through cookies: the device cookie set at sign-in gives the owner's browser its own
// throttle budget, so an attacker's failures from elsewhere do not lock the owner out; the
// client address comes from the connection unless the peer is a trusted proxy.
func TestDeviceCookieKeepsOwnerIn(t *testing.T) {
	t.Parallel()
	a := newApp(t, httpauth.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}})
	device := cookie(t, a.signIn("ann01", false), "__Host-authcube-device")
	for range 15 {
		w := a.do("POST", "/signin", url.Values{"login": {"ann01"}, "password": {"a wrong guess"}}, nil, "X-Forwarded-For", "203.0.113.9")
		require.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, w.Code)
	}
	w := a.signIn("ann01", false)
	require.Equal(t, http.StatusTooManyRequests, w.Code, "the account is throttled")
	assert.NotEmpty(t, w.Header().Get("Retry-After"))
	w = a.signIn("ann01", false, device)
	assert.Equal(t, http.StatusOK, w.Code, "the owner's browser has its own budget: %s", w.Body.String())
}

// Status and WriteError: the shared mapping; a wrong old password is never a 401.
func TestStatus(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "dave04")
	_, err := env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("another long password 1"), OldPassword: "wrong password"})
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials)
	assert.Equal(t, http.StatusUnprocessableEntity, httpauth.Status(err))
	assert.Equal(t, http.StatusUnauthorized, httpauth.Status(authcube.ErrUnauthorized))
	assert.Equal(t, http.StatusInternalServerError, httpauth.Status(errors.New("x")))

	w := httptest.NewRecorder()
	httpauth.WriteError(w, httptest.NewRequest("POST", "/", nil), err)
	var p map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, "old_password", p["field"])
	assert.Equal(t, float64(422), p["status"])
}

// Auth.WriteError logs internal errors with Config.Logger, not slog.Default().
func TestAuthWriteErrorUsesLogger(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	var logs bytes.Buffer
	auth, err := httpauth.New(env.Engine, httpauth.Config{Insecure: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	auth.WriteError(w, httptest.NewRequest("GET", "/x", nil), errors.New("disk on fire"))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.NotContains(t, w.Body.String(), "disk on fire")
	assert.Contains(t, logs.String(), "disk on fire")
}

// S36: Middleware puts the client's address in the request's context, so a handler trying
// reset tokens with it is throttled per client.
func TestMiddlewareCarriesClientAddr(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) { c.ClientThrottle.Free = 2 }))
	auth, err := httpauth.New(env.Engine, httpauth.Config{Insecure: true})
	require.NoError(t, err)
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := env.Engine.CreateSession(ctx) // a well-formed token that is no reset token
		require.NoError(t, err)
		auth.WriteError(w, r, env.Engine.ConfirmPasswordReset(r.Context(), s.Token, "a good new password"))
	}))
	codes := []int{}
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/reset", nil))
		codes = append(codes, w.Code)
	}
	assert.Equal(t, []int{http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, http.StatusTooManyRequests}, codes)
}

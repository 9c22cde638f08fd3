// Package httpauth puts an [authcube.Engine] behind net/http for server-rendered web apps and
// JSON APIs: tokens from a cookie or an Authorization: Bearer header, a middleware that loads
// the session and its user into the request's context, [Auth.Require] for protected routes,
// fixation-safe cookie sign-in and sign-out, CSRF protection for cookie requests, the client
// address for throttling, and one mapping of authcube errors to HTTP statuses and RFC 9457
// problem details.
//
// A typical app:
//
//	auth, err := httpauth.New(engine, httpauth.Config{})
//	mux.Handle("GET /profile", auth.Require(profile))
//	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
//		_, err := auth.SignIn(w, r, authcube.Credentials{Login: r.FormValue("login"), Password: r.FormValue("password")})
//		...
//	})
//	http.ListenAndServe(addr, auth.Middleware(mux))
//
// Cookies are HttpOnly, SameSite=Lax, Path=/, and Secure with the "__Host-" prefix unless
// [Config.Insecure] (S41). Cookie sign-in always makes a fresh token and destroys the old
// session: it never upgrades a token in place as [authcube.Engine.SignIn] does for SDK-style
// clients, since a token an attacker planted in a victim's cookie jar would then be signed in
// (session fixation, S17).
package httpauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/internal/clientip"
	"github.com/authcube/authcube/internal/httperr"
)

// Defaults of Config.
const (
	// DefaultCookieName is the session cookie's name over HTTPS.
	DefaultCookieName = "__Host-authcube"
	// DefaultInsecureCookieName is the session cookie's name when Config.Insecure is set: the
	// "__Host-" prefix requires Secure.
	DefaultInsecureCookieName = "authcube"
	// DefaultSignInPath is where Require sends browsers without a user session.
	DefaultSignInPath = "/signin"
	// DefaultRememberFor is the lifetime of a remembered sign-in's cookie: the engine's default
	// absolute session lifetime (Config.SessionMaxAge).
	DefaultRememberFor = 30 * 24 * time.Hour
	// DeviceCookieMaxAge is the lifetime of the device cookie: 400 days, the most browsers keep.
	DeviceCookieMaxAge = 400 * 24 * time.Hour
)

// Config configures [New]. It is copied; nothing in it may change afterwards.
type Config struct {
	// CookieName names the session cookie; "" means "__Host-authcube", or "authcube" when
	// Insecure. A name starting with "__Host-" or "__Secure-" is refused with Insecure.
	CookieName string
	// Insecure sends cookies without Secure, for http://localhost development only: a cookie
	// without Secure travels over plain HTTP, where anyone on the path can read it.
	Insecure bool
	// DeviceCookieName names the device cookie (S36: a sign-in from a device that signed in
	// before has its own throttle budget, so an attacker guessing the password does not lock
	// the owner out); "" means CookieName + "-device". "-" means no device cookie.
	DeviceCookieName string
	// SignInPath is where Require redirects browsers (requests that accept text/html) without
	// a user session, with the page they asked for in the "next" query parameter; "" means
	// "/signin".
	SignInPath string
	// RememberFor is the lifetime of the cookie of a remembered sign-in
	// ([SignInOptions.Remember]); 0 means DefaultRememberFor (30 days). Set it to the engine's
	// SessionMaxAge when that is not the default. A sign-in not remembered gets a cookie that
	// ends with the browser session.
	RememberFor time.Duration
	// TrustedProxies lists the reverse proxies (a single address is a /32 or /128 prefix) whose
	// ForwardedHeader names the client; nil means none: the client is the peer of the
	// connection and forwarded headers are ignored, since anyone can send them. Sign-ins are
	// throttled per client address (S36), so list the proxy in front of the server here, or
	// every client counts as the proxy. Each listed proxy must append to (or overwrite) that
	// header: the address right of the last trusted proxy is the client.
	TrustedProxies []netip.Prefix
	// ForwardedHeader is the one header read behind TrustedProxies: "X-Forwarded-For" (""
	// means it, what nginx's $proxy_add_x_forwarded_for and most load balancers append) or
	// "Forwarded" (RFC 7239, for= parameters). The other header is ignored: a proxy that only
	// appends to one passes the other through as the client wrote it. New fails on any other
	// value.
	ForwardedHeader string
	// TrustedOrigins lists other origins ("https://app.example.com") whose pages may send
	// unsafe requests with the cookie; nil means the server's own origin only (CSRF, S41).
	TrustedOrigins []string
	// Logger receives the Auth's log records (never with tokens or passwords), internal errors
	// that Middleware, Require and [Auth.WriteError] answer included; nil means slog.Default().
	// The package-level [WriteError] has no Auth and logs with slog.Default().
	Logger *slog.Logger
}

// SignInOptions tune a cookie sign-in.
type SignInOptions struct {
	// Remember makes the cookie persistent for Config.RememberFor; false gives a cookie that
	// ends with the browser session (the session itself still expires on the engine's terms).
	Remember bool
}

// Auth is the HTTP layer over one engine. It is safe for concurrent use.
type Auth struct {
	e       *authcube.Engine
	cfg     Config
	app     *authcube.Client
	clients *clientip.Resolver
	cop     *http.CrossOriginProtection
	deny    http.Handler // answers a refused cross-origin request
	log     *slog.Logger
}

// New returns the HTTP layer over e. It fails when e is nil, a trusted proxy or origin is
// malformed, or Insecure is combined with a "__Host-" or "__Secure-" cookie name.
func New(e *authcube.Engine, cfg Config) (*Auth, error) {
	if e == nil {
		return nil, errors.New("httpauth: new: engine is nil")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
		if cfg.Insecure {
			cfg.CookieName = DefaultInsecureCookieName
		}
	}
	if cfg.DeviceCookieName == "" {
		cfg.DeviceCookieName = cfg.CookieName + "-device"
	}
	for _, name := range []string{cfg.CookieName, cfg.DeviceCookieName} {
		if cfg.Insecure && (strings.HasPrefix(name, "__Host-") || strings.HasPrefix(name, "__Secure-")) {
			return nil, fmt.Errorf("httpauth: new: cookie %q needs Secure, which Insecure turns off", name)
		}
		if c := (&http.Cookie{Name: name, Value: "x"}); c.Valid() != nil && name != "-" {
			return nil, fmt.Errorf("httpauth: new: invalid cookie name %q", name)
		}
	}
	if cfg.SignInPath == "" {
		cfg.SignInPath = DefaultSignInPath
	}
	if cfg.RememberFor <= 0 {
		cfg.RememberFor = DefaultRememberFor
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	clients, err := clientip.New(cfg.TrustedProxies, cfg.ForwardedHeader)
	if err != nil {
		return nil, fmt.Errorf("httpauth: new: %w", err)
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("httpauth: new: %w", err)
		}
	}
	a := &Auth{e: e, cfg: cfg, app: authcube.NewClient(e, nil), clients: clients, cop: cop, log: cfg.Logger}
	a.deny = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httperr.WriteProblem(w, httperr.Problem{Type: "about:blank", Title: "Forbidden", Status: http.StatusForbidden,
			Code: string(authcube.CodeForbidden), Detail: "cross-origin request refused"})
	})
	return a, nil
}

// App returns the handler's own application session client, for the anonymous work that
// needs a token (sign-up, a reset request, reads for visitors): it creates its session on
// first use and renews it when it expires, so the app never handles an application token.
func (a *Auth) App() *authcube.Client { return a.app }

// Engine returns the engine a serves.
func (a *Auth) Engine() *authcube.Engine { return a.e }

// ctxKey keys the request state in a context.
type ctxKey struct{}

// state is what Middleware learnt about a request.
type state struct {
	session authcube.Session
	user    authcube.User
	ok      bool // session holds a live session
}

// token returns the request's token: the Authorization Bearer token when there is one, else
// the session cookie's value. bearer reports which.
func (a *Auth) token(r *http.Request) (tok string, bearer bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), true
		}
	}
	if c, err := r.Cookie(a.cfg.CookieName); err == nil {
		return c.Value, false
	}
	return "", false
}

// safeMethod reports whether a method has no side effects by its definition.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Middleware loads the session of the request's token (a Bearer header or the cookie), if any,
// and for a user session the user, once, into the request's context for [SessionFrom] and
// [UserFrom]. A missing, dead or unknown token is no error: the request goes on without a
// session (and a dead cookie is cleared). It rejects only unsafe requests (POST, PUT, DELETE,
// ...) without a Bearer header that Go's [http.CrossOriginProtection] refuses: cross-origin
// form posts, which would otherwise ride on the cookie (CSRF) or sign a victim in to an
// attacker's account (login CSRF). Bearer requests carry no ambient authority and are not
// checked. A failure of the engine itself is answered as a problem (500 or 503). The context
// also carries the client's address (authcube.WithClientAddr, behind Config.TrustedProxies as
// for sign-ins), so engine calls made with it, such as ConfirmPasswordReset, are throttled per
// client too.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, done := r.Context().Value(ctxKey{}).(*state); done {
			next.ServeHTTP(w, r)
			return
		}
		tok, bearer := a.token(r)
		if !bearer && !safeMethod(r.Method) {
			if err := a.cop.Check(r); err != nil {
				a.deny.ServeHTTP(w, r)
				return
			}
		}
		st := &state{}
		if tok != "" {
			if err := a.load(r.Context(), tok, st); err != nil {
				if !errors.Is(err, authcube.ErrUnauthorized) {
					a.WriteError(w, r, err)
					return
				}
				if !bearer {
					a.clearCookie(w, a.cfg.CookieName)
				}
			}
		}
		ctx := authcube.WithClientAddr(context.WithValue(r.Context(), ctxKey{}, st), a.clients.Addr(r))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// load fills st with the session of tok and its user.
func (a *Auth) load(ctx context.Context, tok string, st *state) error {
	s, err := a.e.Session(ctx, tok)
	if err != nil {
		return err
	}
	s.Token = tok
	if s.IsUser() {
		u, err := a.e.User(ctx, tok, s.UserID)
		if err != nil {
			return err
		}
		st.user = u
	}
	st.session, st.ok = s, true
	return nil
}

// Require serves next only for requests with a user session (loading it as Middleware does
// when Middleware has not run). Without one, a browser asking for a page (Accept: text/html,
// no Authorization header) is redirected (303) to Config.SignInPath with the page in "next"
// (through LocalRedirect: a request for "//evil.example/" does not become a link elsewhere);
// anything else gets 401 problem+json with WWW-Authenticate: Bearer.
func (a *Auth) Require(next http.Handler) http.Handler {
	return a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := UserFrom(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get("Authorization") == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
			target := a.cfg.SignInPath
			if safeMethod(r.Method) {
				target += "?next=" + url.QueryEscape(LocalRedirect(r.URL.RequestURI()))
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		a.WriteError(w, r, authcube.ErrUnauthorized)
	}))
}

// SessionFrom returns the live session Middleware found for the request (a user or an
// application session; Token set), and false when there is none.
func SessionFrom(ctx context.Context) (authcube.Session, bool) {
	st, ok := ctx.Value(ctxKey{}).(*state)
	if !ok || !st.ok {
		return authcube.Session{}, false
	}
	return st.session, true
}

// UserFrom returns the signed-in user Middleware loaded for the request, and false when the
// request has no user session.
func UserFrom(ctx context.Context) (authcube.User, bool) {
	st, ok := ctx.Value(ctxKey{}).(*state)
	if !ok || !st.ok || !st.session.IsUser() {
		return authcube.User{}, false
	}
	return st.user, true
}

// TokenFrom returns the request's token of a live session ("" when none), for engine calls
// made on the user's behalf.
func TokenFrom(ctx context.Context) string {
	s, _ := SessionFrom(ctx)
	return s.Token
}

// ClientAddr returns the client address of r for [authcube.Credentials.ClientAddr]: the peer
// of the connection, or the forwarded client behind Config.TrustedProxies.
func (a *Auth) ClientAddr(r *http.Request) string { return a.clients.Addr(r) }

// SignIn signs in with c and sets the session cookie, ending with the browser session; see
// [Auth.SignInWith].
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request, c authcube.Credentials) (authcube.User, error) {
	return a.SignInWith(w, r, c, SignInOptions{})
}

// SignInWith signs in with c: a fresh session token is made (never the request's token
// upgraded: S17), set in the session cookie, and the request's previous cookie session, if
// any, is destroyed. c.ClientAddr defaults to the request's client address and c.DeviceToken
// to the device cookie, which is then set for the next sign-in from this browser. On failure
// nothing changes and the engine's error is returned (ErrInvalidCredentials, ErrThrottled
// with RetryAfter, ErrInvalid...); write it with [WriteError] or show its message.
func (a *Auth) SignInWith(w http.ResponseWriter, r *http.Request, c authcube.Credentials, opts SignInOptions) (authcube.User, error) {
	ctx := r.Context()
	if c.ClientAddr == "" {
		c.ClientAddr = a.clients.Addr(r)
	}
	if c.DeviceToken == "" && a.cfg.DeviceCookieName != "-" {
		if dc, err := r.Cookie(a.cfg.DeviceCookieName); err == nil {
			c.DeviceToken = dc.Value
		}
	}
	s, err := a.e.CreateUserSession(ctx, c)
	if err != nil {
		return authcube.User{}, err
	}
	u, err := a.e.User(ctx, s.Token, s.UserID)
	if err != nil {
		a.destroy(ctx, s.Token)
		return authcube.User{}, err
	}
	if old, err := r.Cookie(a.cfg.CookieName); err == nil && old.Value != "" {
		a.destroy(ctx, old.Value)
	}
	maxAge := 0
	if opts.Remember {
		maxAge = int(a.cfg.RememberFor / time.Second)
	}
	a.setCookie(w, a.cfg.CookieName, s.Token, maxAge)
	if s.DeviceToken != "" && a.cfg.DeviceCookieName != "-" {
		a.setCookie(w, a.cfg.DeviceCookieName, s.DeviceToken, int(DeviceCookieMaxAge/time.Second))
	}
	return u, nil
}

// SignUp creates the user nu through the handler's own application session ([Auth.App]) and
// then signs them in as [Auth.SignInWith] does, with nu's login (or email) and password. When
// the sign-up succeeds and the sign-in fails (throttled, say), the user exists and the error
// is the sign-in's.
func (a *Auth) SignUp(w http.ResponseWriter, r *http.Request, nu authcube.NewUser, opts SignInOptions) (authcube.User, error) {
	if _, err := a.app.SignUp(r.Context(), nu); err != nil {
		return authcube.User{}, err
	}
	c := authcube.Credentials{Login: nu.Login, Password: nu.Password}
	if c.Login == "" {
		c.Email = nu.Email
	}
	return a.SignInWith(w, r, c, opts)
}

// SignOut destroys the request's session (from the cookie or the Bearer header) and clears
// the session cookie. The device cookie stays: it is what keeps this browser's throttle
// budget. No session, or a dead one, is no error.
func (a *Auth) SignOut(w http.ResponseWriter, r *http.Request) error {
	tok, bearer := a.token(r)
	if !bearer {
		a.clearCookie(w, a.cfg.CookieName)
	}
	if tok == "" {
		return nil
	}
	if err := a.e.DestroySession(r.Context(), tok); err != nil && !errors.Is(err, authcube.ErrUnauthorized) {
		return err
	}
	return nil
}

// SignOutEverywhere ends every session of the request's user (other browsers and devices,
// API tokens) at once (authcube.Engine.RevokeOtherSessions) and then the request's own, and
// clears the session cookie. It returns ErrUnauthorized without a user session.
func (a *Auth) SignOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	tok, _ := a.token(r)
	if _, err := a.e.RevokeOtherSessions(r.Context(), tok); err != nil {
		if errors.Is(err, authcube.ErrForbidden) {
			return authcube.ErrUnauthorized
		}
		return err
	}
	return a.SignOut(w, r)
}

// destroy ends a session a sign-in replaces; failures are logged, never the token.
func (a *Auth) destroy(ctx context.Context, tok string) {
	err := a.e.DestroySession(context.WithoutCancel(ctx), tok)
	if err != nil && !errors.Is(err, authcube.ErrUnauthorized) {
		a.log.Warn("httpauth: destroying a replaced session", "err", err)
	}
}

// setCookie sets a cookie with the package's attributes; maxAge 0 means a browser-session
// cookie.
func (a *Auth) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: !a.cfg.Insecure, SameSite: http.SameSiteLaxMode,
	})
}

// clearCookie tells the browser to drop a cookie.
func (a *Auth) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !a.cfg.Insecure, SameSite: http.SameSiteLaxMode,
	})
}

// Status returns the HTTP status for an authcube error: 200 for nil; 401 for ErrUnauthorized
// and ErrInvalidCredentials, except a wrong old password, which is 422 (the session is fine);
// 403 ErrForbidden; 404 ErrNotFound; 422 ErrInvalid and ErrConflict; 429 ErrThrottled; 503
// ErrClosed and ErrLocked; 500 anything else. The rest package uses the same mapping.
func Status(err error) int { return httperr.Status(err) }

// WriteError answers err as RFC 9457 application/problem+json with [Status]: type, title,
// status, detail (the error's safe message), and the members code and field; Retry-After on
// throttling. Internal errors get a generic detail and are logged with slog.Default().
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	httperr.Write(w, r, err, slog.Default())
}

// WriteError is the package-level [WriteError], logging internal errors with Config.Logger.
func (a *Auth) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	httperr.Write(w, r, err, a.log)
}

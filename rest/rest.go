// Package rest serves the ConnectyCube HTTP API (Auth, Users and Storage, as the connectycube
// 6.x JavaScript SDK uses it) over an [authcube.Engine], so apps built on ConnectyCube's SDKs
// run against a local authcube for offline prototyping and tests. Point the SDK at it with
//
//	ConnectyCube.init({appId: 1, authKey: "KEY"}, {endpoints: {api_url: "http://127.0.0.1:8080"}, debug: {mode: 0}})
//
// The handler follows the SDK's transport conventions: paths ending in ".json", query strings
// with literal brackets, JSON bodies, the session token in the CB-Token header, and JSON error
// bodies {"errors": {"field": ["message"]}}. A missing, unknown or expired token on any route
// answers 401 {"errors":{"base":["Required session does not exist"]}}, the body that triggers
// the SDK's session renewal hook (on.sessionExpired).
//
// Over HTTP anyone with the public auth key can mint an application session, so by default
// other users' email and phone are left out of user JSON, and filters that could enumerate them
// (anything but one exact value) are refused; [Config.FullUserData] restores full ConnectyCube
// behaviour. Downloads carry X-Content-Type-Options: nosniff, and anything but a raster image is
// served as an attachment.
package rest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/internal/clientip"
)

// DefaultMaxBodyBytes is the largest JSON request body unless Config.MaxBodyBytes says otherwise.
const DefaultMaxBodyBytes = 1 << 20

// Config configures the handler [New] returns. It is copied; nothing in it may change afterwards.
type Config struct {
	// AppID is the application id clients send (application_id); it must equal the engine's
	// AppID. 0 means 1, the engine's default.
	AppID int64
	// AuthKey is the public auth key clients send (auth_key, or the CB-AuthKey header of a
	// sign-up without a session); required.
	AuthKey string
	// FullUserData, when false (the default), leaves other users' email and phone out of user
	// JSON and refuses anything but one exact value on them with 422 (lists, ne and nin,
	// substring, range and sort: S31); a look-up of one phone or email stays allowed, as in
	// ConnectyCube. True gives full ConnectyCube behaviour for prototyping.
	FullUserData bool
	// MaxBodyBytes caps JSON request bodies; 0 means DefaultMaxBodyBytes (1 MiB). Uploads are
	// capped by the engine's Config.MaxFileSize instead.
	MaxBodyBytes int64
	// AllowedOrigins lists the origins browsers may call from (CORS); nil means any ("*"), for
	// local prototyping. Credentials travel in headers, never cookies. Private Network Access
	// (a page on a public site calling a server on a private address or loopback, which browsers
	// preflight with Access-Control-Request-Private-Network) is granted only to origins listed
	// here: with nil, no web page beyond the server's own network can reach it. Non-browser
	// clients (the SDK under Node.js sends no Origin) are not affected.
	AllowedOrigins []string
	// BaseURL is how clients reach this server ("http://127.0.0.1:8080", without a trailing
	// slash), used for the upload and download URLs in blob responses. "" means the local
	// address the request arrived on (http or https as the connection is). URLs are never
	// built from the request's Host header, which the client chooses.
	BaseURL string
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
	// PresignedDownloads, when positive and the engine's blob store can sign URLs (blob/s3),
	// answers a GET of a file's bytes, once authorised as usual, with 302 Found to a presigned
	// GET of the object valid this long, so the bytes need not pass through the application;
	// the object's response carries the file's Content-Type, Content-Disposition and
	// Cache-Control but not the nosniff and sandbox headers this handler adds, so the bucket
	// must be served from another origin than the application (S27). HEAD, and every store
	// without the ability, get the bytes as with 0 (the default). Keep it short (minutes): the
	// URL reads the file without a session until it expires.
	PresignedDownloads time.Duration
	// Logger receives the handler's log records (never with passwords or tokens); nil means
	// slog.Default().
	Logger *slog.Logger
}

// handler is the http.Handler New returns.
type handler struct {
	e       *authcube.Engine
	cfg     Config
	log     *slog.Logger
	origins map[string]bool
	signKey []byte // signs upload and download URLs: Engine.DerivedKey, shared by instances
	uploads *uploadTable
	svc     serviceSession
	clients *clientip.Resolver
	api     *http.ServeMux   // apiRoutes
	bytes   *http.ServeMux   // byteRoutes
	now     func() time.Time // wall clock for URL expiry
}

// New returns an http.Handler serving the ConnectyCube routes over e. It checks that
// cfg.AppID equals the engine's, and fails when AuthKey is empty. The handler is safe for
// concurrent use; mount it at the root, or behind http.StripPrefix when api_url has a path.
func New(e *authcube.Engine, cfg Config) (http.Handler, error) {
	if e == nil {
		return nil, errors.New("rest: new: engine is nil")
	}
	if cfg.AuthKey == "" {
		return nil, errors.New("rest: new: AuthKey is required")
	}
	if cfg.AppID < 0 || cfg.MaxBodyBytes < 0 {
		return nil, errors.New("rest: new: AppID and MaxBodyBytes must not be negative")
	}
	if cfg.AppID == 0 {
		cfg.AppID = authcube.DefaultAppID
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	clients, err := clientip.New(cfg.TrustedProxies, cfg.ForwardedHeader)
	if err != nil {
		return nil, fmt.Errorf("rest: new: %w", err)
	}
	// The URL key is the engine's, so that a URL one instance signs works on every instance
	// sharing the store.
	h := &handler{e: e, cfg: cfg, log: cfg.Logger, uploads: newUploadTable(), now: time.Now,
		signKey: e.DerivedKey("rest: upload and download URLs"), clients: clients}
	h.api, h.bytes = h.newMux(h.apiRoutes()), h.newMux(h.byteRoutes())
	if cfg.AllowedOrigins != nil {
		h.origins = make(map[string]bool, len(cfg.AllowedOrigins))
		for _, o := range cfg.AllowedOrigins {
			h.origins[strings.TrimRight(o, "/")] = true
		}
	}
	if e.AppID() != cfg.AppID {
		return nil, fmt.Errorf("rest: new: Config.AppID %d does not match the engine's AppID %d", cfg.AppID, e.AppID())
	}
	return h, nil
}

// route is one entry of the route table: a Go 1.22 ServeMux pattern and its handler.
type route struct {
	pattern string
	serve   handlerFunc
}

// handlerFunc is a route's handler: it writes the answer on success and returns the error
// otherwise, which fail writes.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// pathValue adapts a handler taking one path wildcard.
func pathValue(name string, f func(w http.ResponseWriter, r *http.Request, v string) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return f(w, r, r.PathValue(name)) }
}

// apiRoutes are the JSON routes, matched on the path without its ".json" suffix, which every
// SDK call has. A GET pattern serves HEAD too.
func (h *handler) apiRoutes() []route {
	id := func(f func(w http.ResponseWriter, r *http.Request, id string) error) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			if !isID(r.PathValue("id")) {
				return h.notAnID(r)
			}
			return f(w, r, r.PathValue("id"))
		}
	}
	self := func(f func(w http.ResponseWriter, r *http.Request, id string) error) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error { return f(w, r, "") }
	}
	return []route{
		{"POST /session", h.createSession},
		{"GET /session", h.getSession},
		{"DELETE /session", h.destroySession},
		{"POST /login", h.login},
		{"DELETE /login", h.logout},
		{"POST /users", h.signUp},
		{"GET /users", h.listUsers},
		{"PUT /users", self(h.updateUser)},    // the SDK knows no current user id: the session's user
		{"DELETE /users", self(h.deleteUser)}, // likewise
		{"GET /users/v2", h.usersV2},
		{"GET /users/by_login", h.userByLogin},
		{"GET /users/by_email", h.userByEmail},
		{"GET /users/by_full_name", h.usersByFullName},
		{"GET /users/by_tags", h.usersByTags},
		{"GET /users/phone", h.usersByPhone}, // the SDK's path
		{"GET /users/by_phone", h.usersByPhone},
		{"GET /users/by_facebook_id", h.unsupportedLookUp},
		{"GET /users/by_twitter_id", h.unsupportedLookUp},
		{"GET /users/online", h.usersOnline},
		{"GET /users/{id}", id(h.getUser)},
		{"PUT /users/{id}", id(h.updateUser)},
		{"DELETE /users/{id}", id(h.deleteUser)},
		{"POST /users/password/reset", h.resetPassword},
		{"GET /users/password/reset", h.resetPassword}, // old clients: ?email=
		{"GET /users/external/{ext}", pathValue("ext", h.userByExternal)},
		{"POST /blobs", h.createBlob},
		{"GET /blobs", h.listBlobs},
		{"GET /blobs/{ref}", pathValue("ref", h.getBlob)}, // storage.update too, as a GET
		{"PUT /blobs/{ref}", pathValue("ref", h.updateBlob)},
		{"DELETE /blobs/{ref}", pathValue("ref", h.deleteBlob)},
		{"PUT /blobs/{ref}/complete", pathValue("ref", h.completeBlob)},
		{"POST /blobs/{ref}/complete", pathValue("ref", h.completeBlob)},
		{"GET /blobs/{ref}/object", pathValue("ref", h.blobObject)},
	}
}

// byteRoutes are the routes without ".json": the download URLs of storage.privateUrl and
// publicUrl, and the upload URL blob responses carry.
func (h *handler) byteRoutes() []route {
	return []route{
		{"GET /blobs/{uid}", pathValue("uid", h.download)},
		{"POST /blobs/upload/{uid}", pathValue("uid", h.upload)},
	}
}

// newMux registers a route table once.
func (h *handler) newMux(routes []route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		serve := rt.serve
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := serve(w, r); err != nil {
				h.fail(w, r, err)
			}
		})
	}
	return mux
}

// notAnID answers a /users/{id} request whose id is not a number: 405 when the path is a named
// route (PUT /users/v2.json), which only GET serves, and 404 otherwise.
func (h *handler) notAnID(r *http.Request) error {
	get := r.Clone(r.Context())
	get.Method = http.MethodGet
	if _, pattern := h.api.Handler(get); pattern != "" && !strings.Contains(pattern, "{id}") {
		return errNotAllowed("GET, HEAD")
	}
	return errNoRoute
}

// errNotAllowed is a 405 naming the methods allowed.
func errNotAllowed(allow string) error {
	return &apiError{status: http.StatusMethodNotAllowed, msg: "Method Not Allowed", allow: allow}
}

// errNoRoute answers a path no route serves.
var errNoRoute = &apiError{status: http.StatusNotFound, msg: "Not Found: no such route"}

// ServeHTTP answers CORS, then routes: paths ending in ".json" through the API table (matched
// without the suffix), others through the byte table. Leading slashes are collapsed, since a
// trailing slash on the SDK's api_url gives "//session.json". A path no route serves is a JSON
// 404, and a route asked with another method a JSON 405 with Allow, the bodies the SDK reads.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.cors(w, r)
	if r.Method == http.MethodOptions {
		h.preflight(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	mux, p := h.bytes, "/"+strings.TrimLeft(r.URL.Path, "/")
	if trimmed, ok := strings.CutSuffix(p, ".json"); ok {
		mux, p = h.api, trimmed
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	next, pattern := mux.Handler(r2)
	if pattern != "" {
		mux.ServeHTTP(w, r2) // matches again, setting the path values
		return
	}
	// No pattern: the mux would answer 404, 405 or a redirect to a cleaned path in plain text.
	probe := &statusProbe{hdr: http.Header{}}
	next.ServeHTTP(probe, r2)
	if probe.status == http.StatusMethodNotAllowed {
		h.fail(w, r, errNotAllowed(probe.hdr.Get("Allow")))
		return
	}
	h.fail(w, r, errNoRoute)
}

// statusProbe records the status and headers of the mux's own answer, discarding its body.
type statusProbe struct {
	hdr    http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.hdr }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// CORS: the SDK's browser build sends the CB-Token, CB-AuthKey, CB-SDK and Content-Type
// headers, so every call is preflighted.
const (
	corsMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
	corsHeaders = "CB-Token, CB-AuthKey, CB-SDK, Content-Type"
)

// cors sets the CORS headers of an allowed origin.
func (h *handler) cors(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if h.origins == nil {
		hd.Set("Access-Control-Allow-Origin", "*")
	} else {
		hd.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !h.origins[origin] {
			return
		}
		hd.Set("Access-Control-Allow-Origin", origin)
	}
	hd.Set("Access-Control-Expose-Headers", "Retry-After, Content-Disposition")
}

// preflight answers OPTIONS on any path.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if hd.Get("Access-Control-Allow-Origin") != "" {
		hd.Set("Access-Control-Allow-Methods", corsMethods)
		hd.Set("Access-Control-Allow-Headers", corsHeaders)
		hd.Set("Access-Control-Max-Age", "600")
		// Private Network Access (public pages calling a private or loopback address): only
		// for an origin the configuration names, never for "*" (S34).
		if h.origins != nil && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			hd.Set("Access-Control-Allow-Private-Network", "true")
		}
	}
	hd.Set("Allow", corsMethods)
	w.WriteHeader(http.StatusNoContent)
}

// baseURL is Config.BaseURL, or else the local address the request arrived on; never the
// Host header, which the client chooses.
func (h *handler) baseURL(r *http.Request) string {
	if h.cfg.BaseURL != "" {
		return h.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := "127.0.0.1"
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host = a.String()
	}
	return scheme + "://" + host
}

// token is the session token of a request: the CB-Token header.
func token(r *http.Request) string { return strings.TrimSpace(r.Header.Get("CB-Token")) }

// isID reports whether s is a decimal id.
func isID(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

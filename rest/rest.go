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
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/authcube/authcube"
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
	// X-Forwarded-For or Forwarded headers name the client; nil means none: the client is the
	// peer of the connection and forwarded headers are ignored, since anyone can send them.
	// Sign-ins are throttled per client address (S36), so list the proxy in front of the
	// server here, or every client counts as the proxy.
	TrustedProxies []netip.Prefix
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
	signKey []byte // per process: signs upload and download URLs
	uploads *uploadTable
	svc     serviceSession
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
	proxies := make([]netip.Prefix, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("rest: new: TrustedProxies holds an invalid prefix")
		}
		proxies[i] = p.Masked()
	}
	cfg.TrustedProxies = proxies
	h := &handler{e: e, cfg: cfg, log: cfg.Logger, uploads: newUploadTable(), now: time.Now, signKey: make([]byte, 32)}
	if _, err := rand.Read(h.signKey); err != nil {
		return nil, fmt.Errorf("rest: new: %w", err)
	}
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

// ServeHTTP answers CORS, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.cors(w, r)
	if r.Method == http.MethodOptions {
		h.preflight(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	path := r.URL.Path
	isJSON := strings.HasSuffix(path, ".json")
	path = strings.TrimSuffix(path, ".json")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if !h.route(w, r, segs, isJSON) {
		h.fail(w, r, &apiError{status: http.StatusNotFound, msg: "Not Found: no such route"})
	}
}

// route dispatches by path and method; it returns false when no route matches the path.
func (h *handler) route(w http.ResponseWriter, r *http.Request, segs []string, isJSON bool) bool {
	switch len(segs) {
	case 1:
		switch segs[0] {
		case "session":
			return h.methods(w, r, map[string]http.HandlerFunc{"POST": h.createSession, "GET": h.getSession, "DELETE": h.destroySession})
		case "login":
			return h.methods(w, r, map[string]http.HandlerFunc{"POST": h.login, "DELETE": h.logout})
		case "users":
			return h.methods(w, r, map[string]http.HandlerFunc{
				"POST": h.signUp, "GET": h.listUsers,
				"PUT":    func(w http.ResponseWriter, r *http.Request) { h.updateUser(w, r, "") },
				"DELETE": func(w http.ResponseWriter, r *http.Request) { h.deleteUser(w, r, "") },
			})
		case "blobs":
			return h.methods(w, r, map[string]http.HandlerFunc{"POST": h.createBlob, "GET": h.listBlobs})
		}
	case 2:
		switch segs[0] {
		case "users":
			return h.usersRoute(w, r, segs[1])
		case "blobs":
			x := segs[1]
			if !isJSON { // storage.privateUrl / publicUrl: the bytes
				return h.methods(w, r, map[string]http.HandlerFunc{
					"GET":  func(w http.ResponseWriter, r *http.Request) { h.download(w, r, x) },
					"HEAD": func(w http.ResponseWriter, r *http.Request) { h.download(w, r, x) },
				})
			}
			return h.methods(w, r, map[string]http.HandlerFunc{
				"GET":    func(w http.ResponseWriter, r *http.Request) { h.getBlob(w, r, x) },
				"PUT":    func(w http.ResponseWriter, r *http.Request) { h.updateBlob(w, r, x) },
				"DELETE": func(w http.ResponseWriter, r *http.Request) { h.deleteBlob(w, r, x) },
			})
		}
	case 3:
		switch {
		case segs[0] == "users" && segs[1] == "password" && segs[2] == "reset":
			return h.methods(w, r, map[string]http.HandlerFunc{"POST": h.resetPassword, "GET": h.resetPassword})
		case segs[0] == "users" && segs[1] == "external":
			ext := segs[2]
			return h.methods(w, r, map[string]http.HandlerFunc{"GET": func(w http.ResponseWriter, r *http.Request) { h.userByExternal(w, r, ext) }})
		case segs[0] == "blobs" && segs[1] == "upload" && !isJSON:
			uid := segs[2]
			return h.methods(w, r, map[string]http.HandlerFunc{"POST": func(w http.ResponseWriter, r *http.Request) { h.upload(w, r, uid) }})
		case segs[0] == "blobs" && segs[2] == "complete":
			x := segs[1]
			complete := func(w http.ResponseWriter, r *http.Request) { h.completeBlob(w, r, x) }
			return h.methods(w, r, map[string]http.HandlerFunc{"PUT": complete, "POST": complete})
		case segs[0] == "blobs" && segs[2] == "object":
			x := segs[1]
			return h.methods(w, r, map[string]http.HandlerFunc{"GET": func(w http.ResponseWriter, r *http.Request) { h.blobObject(w, r, x) }})
		}
	}
	return false
}

// usersRoute serves /users/{something}.json.
func (h *handler) usersRoute(w http.ResponseWriter, r *http.Request, name string) bool {
	get := func(f http.HandlerFunc) bool { return h.methods(w, r, map[string]http.HandlerFunc{"GET": f}) }
	switch name {
	case "v2":
		return get(h.usersV2)
	case "by_login":
		return get(h.userByLogin)
	case "by_email":
		return get(h.userByEmail)
	case "by_full_name":
		return get(h.usersByFullName)
	case "by_tags":
		return get(h.usersByTags)
	case "phone", "by_phone":
		return get(h.usersByPhone)
	case "by_facebook_id", "by_twitter_id":
		return get(h.unsupportedLookUp)
	case "online":
		return get(h.usersOnline)
	}
	if !isID(name) {
		return false
	}
	return h.methods(w, r, map[string]http.HandlerFunc{
		"GET":    func(w http.ResponseWriter, r *http.Request) { h.getUser(w, r, name) },
		"PUT":    func(w http.ResponseWriter, r *http.Request) { h.updateUser(w, r, name) },
		"DELETE": func(w http.ResponseWriter, r *http.Request) { h.deleteUser(w, r, name) },
	})
}

// methods calls the handler of r's method, or answers 405. It always returns true (the path
// matched).
func (h *handler) methods(w http.ResponseWriter, r *http.Request, byMethod map[string]http.HandlerFunc) bool {
	if f, ok := byMethod[r.Method]; ok {
		f(w, r)
		return true
	}
	allow := make([]string, 0, len(byMethod))
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE"} {
		if byMethod[m] != nil {
			allow = append(allow, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	h.fail(w, r, &apiError{status: http.StatusMethodNotAllowed, msg: "Method Not Allowed"})
	return true
}

// CORS (connectycube-rest.md §2.1): the browser build sends CB-Token, CB-AuthKey, CB-SDK and
// Content-Type headers, so every call is preflighted.
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

// Package webhook is a custom identity provider over HTTP: an [identity.PasswordVerifier] that
// asks an operator-configured endpoint of an existing user base whether a login and password (or
// an external token passed as the password) are good, and what user they name.
//
// Like ConnectyCube's Custom Identity Provider it is configured with an API URL and a mapping of
// request and response parameters, so an existing endpoint can often be used as it is. Unlike it,
// the credentials travel in a JSON body, never in the URL, where access logs and proxies would
// keep them.
//
// # Request
//
// VerifyPassword sends POST to [Config.URL] with Content-Type: application/json, the static
// headers of [Config.Header] (an API key, say) and a body naming the login and the password under
// the keys of [Config.Request]:
//
//	POST /users/verify HTTP/1.1
//	Host: users.example.com
//	Content-Type: application/json
//	Accept: application/json
//	X-Api-Key: 5f2c…
//
//	{"login":"marvin18","password":"supersecurepwd"}
//
// # Response
//
// HTTP 200 with Content-Type application/json (or any type ending in +json; a charset, if named,
// must be utf-8) and a body that is exactly one JSON object naming the user, under the keys of
// [Config.Response]:
//
//	HTTP/1.1 200 OK
//	Content-Type: application/json
//
//	{"id":4021,"login":"marvin18","email":"marvin@example.com","full_name":"Marvin Simon"}
//
// gives Profile{Subject: "4021", Login: "marvin18", Email: "marvin@example.com", FullName:
// "Marvin Simon"}. The subject is required: a non-empty string of at most [MaxSubjectBytes]
// bytes, or an integer, which becomes its decimal digits (many user bases use numeric ids).
// Login, email and full name are optional strings (absent or null give ""). Every string must be
// free of control characters and at most [MaxStringBytes] bytes. Keys match exactly; keys the
// mapping does not name are ignored, so existing endpoints fit; a key given twice denies.
//
// With ResponseFields{Path: "data.user", Subject: "uid", Accepted: "ok"} the same user reads
//
//	{"ok":true,"data":{"user":{"uid":"u-4021","login":"marvin18"}}}
//
// # Outcomes
//
// Status 401, 403 or 404, or a configured Accepted field that is false, mean the provider refused
// the credentials: VerifyPassword returns an error wrapping [identity.ErrRejected]. Anything else
// (another status, a redirect, which is never followed, no answer within [Config.Timeout], a body
// over [Config.MaxResponseBytes], a body that is not the JSON object above) also denies, with an
// error that does not wrap ErrRejected, because the provider could not say; it names the reason
// and never repeats the password or the response body. The package logs nothing.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authcube/authcube/identity"
)

// Defaults for the zero fields of [Config], [RequestFields] and [ResponseFields], and the limits
// on the strings of a response.
const (
	DefaultTimeout          = 5 * time.Second
	DefaultMaxResponseBytes = 64 << 10

	DefaultLoginField    = "login"
	DefaultPasswordField = "password"
	DefaultSubjectField  = "id"
	DefaultEmailField    = "email"
	DefaultFullNameField = "full_name"

	MaxSubjectBytes = 255  // longest subject accepted, in bytes
	MaxStringBytes  = 1024 // longest login, email or full name accepted, in bytes
)

// Config configures a [Provider]. [New] copies it; changing it afterwards has no effect.
type Config struct {
	// URL is the endpoint, required. It must be https, or http to a loopback host (localhost,
	// 127.0.0.0/8, ::1) unless AllowInsecureHTTP is set, and must not hold credentials: put them
	// in Header.
	URL string

	// AllowInsecureHTTP permits plain http to any host: the password then crosses the network in
	// clear. Default false.
	AllowInsecureHTTP bool

	// Header holds static headers sent with every request, such as an API key. Content-Type is
	// always application/json; Accept defaults to application/json. Default none.
	Header http.Header

	// Timeout bounds the whole exchange, from connecting to reading the body, even with a
	// caller-provided Client. Default (0) DefaultTimeout, 5s.
	Timeout time.Duration

	// MaxResponseBytes is the largest response body read; a longer one denies. Default (0)
	// DefaultMaxResponseBytes, 64 KiB.
	MaxResponseBytes int64

	// Request names the keys of the request body.
	Request RequestFields

	// Response names the keys read from the response body.
	Response ResponseFields

	// Client sends the requests. Default (nil) a client with Timeout and its own copy of
	// http.DefaultTransport (same proxy and TLS settings, a separate connection pool).
	// A given client is copied, and the copy never follows redirects whatever its CheckRedirect.
	Client *http.Client
}

// RequestFields names the JSON keys of the request body.
type RequestFields struct {
	Login    string // key of the login; default DefaultLoginField, "login"
	Password string // key of the password; default DefaultPasswordField, "password"
}

// ResponseFields names the JSON keys read from a 200 response. Path and Accepted are dotted paths
// through nested objects ("data.user"); the other names are single keys of the user object, taken
// literally even when they hold a dot.
type ResponseFields struct {
	// Path leads from the top of the response to the user object. Default "": the top object.
	Path string
	// Subject is the key of the user's stable id: a non-empty string or an integer. Default
	// DefaultSubjectField, "id".
	Subject string
	// Login, Email and FullName are the keys of optional strings. Defaults DefaultLoginField
	// ("login"), DefaultEmailField ("email") and DefaultFullNameField ("full_name").
	Login    string
	Email    string
	FullName string
	// Accepted, if set, leads from the top of the response (not from Path: the flag usually sits
	// beside the user object) to a boolean that must be present: false rejects. Default "": no
	// such flag.
	Accepted string
}

// Provider is a custom identity provider over HTTP, made by [New]. It is safe for concurrent use.
type Provider struct {
	url      *url.URL // as configured; errors never show it, since its query may hold a key
	header   http.Header
	timeout  time.Duration
	maxBytes int64
	request  RequestFields
	response ResponseFields
	path     []string // Response.Path split at dots; nil for the top object
	accepted []string // Response.Accepted split at dots; nil when not configured
	client   *http.Client
}

var _ identity.PasswordVerifier = (*Provider)(nil)

// New checks cfg, fills its defaults and returns a Provider. It returns an error when the URL is
// missing, does not parse, is not http or https, holds credentials, or is plain http to a host
// that is not loopback without AllowInsecureHTTP; when Timeout or MaxResponseBytes is negative;
// when a header name or value is invalid; or when a field name or path is invalid.
func New(cfg Config) (*Provider, error) {
	u, err := checkURL(cfg.URL, cfg.AllowInsecureHTTP)
	if err != nil {
		return nil, fmt.Errorf("webhook: new: url: %w", err)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("webhook: new: timeout: negative")
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, errors.New("webhook: new: max response bytes: negative")
	}
	header, err := checkHeader(cfg.Header)
	if err != nil {
		return nil, fmt.Errorf("webhook: new: %w", err)
	}
	p := &Provider{
		url:      u,
		header:   header,
		timeout:  or(cfg.Timeout, DefaultTimeout),
		maxBytes: or(cfg.MaxResponseBytes, DefaultMaxResponseBytes),
		request: RequestFields{
			Login:    or(cfg.Request.Login, DefaultLoginField),
			Password: or(cfg.Request.Password, DefaultPasswordField),
		},
		response: ResponseFields{
			Path:     cfg.Response.Path,
			Subject:  or(cfg.Response.Subject, DefaultSubjectField),
			Login:    or(cfg.Response.Login, DefaultLoginField),
			Email:    or(cfg.Response.Email, DefaultEmailField),
			FullName: or(cfg.Response.FullName, DefaultFullNameField),
			Accepted: cfg.Response.Accepted,
		},
	}
	for _, f := range []struct{ what, name string }{
		{"request: login", p.request.Login},
		{"request: password", p.request.Password},
		{"response: subject", p.response.Subject},
		{"response: login", p.response.Login},
		{"response: email", p.response.Email},
		{"response: full name", p.response.FullName},
	} {
		if err := checkName(f.name); err != nil {
			return nil, fmt.Errorf("webhook: new: %s field: %w", f.what, err)
		}
	}
	if p.request.Login == p.request.Password {
		return nil, errors.New("webhook: new: request: login and password fields are the same")
	}
	if p.path, err = splitPath(p.response.Path); err != nil {
		return nil, fmt.Errorf("webhook: new: response: path: %w", err)
	}
	if p.accepted, err = splitPath(p.response.Accepted); err != nil {
		return nil, fmt.Errorf("webhook: new: response: accepted field: %w", err)
	}
	if cfg.Client != nil {
		c := *cfg.Client
		p.client = &c
	} else {
		p.client = &http.Client{Timeout: p.timeout, Transport: ownTransport()}
	}
	p.client.CheckRedirect = refuseRedirect
	return p, nil
}

// ownTransport gives the provider a connection pool of its own, like the default transport but
// out of reach of whatever else in the process closes or reconfigures http.DefaultTransport.
func ownTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return http.DefaultTransport
}

// refuseRedirect makes the client hand back a 3xx response as it is, which then denies: following
// it would send the password wherever the provider, or anyone who controls its answers, points.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// VerifyPassword asks the provider about login and password and returns the profile of the user
// it accepts. It returns an error wrapping [identity.ErrRejected] when the provider refuses them
// (or, without asking, when login or password is empty or not valid UTF-8), an error wrapping
// ctx's error when ctx ends first, and another error, also denying, when the provider cannot say.
// No error holds the password or the response body.
func (p *Provider) VerifyPassword(ctx context.Context, login, password string) (identity.Profile, error) {
	if login == "" || password == "" {
		return identity.Profile{}, fmt.Errorf("webhook: verify password: empty login or password: %w", identity.ErrRejected)
	}
	if !utf8.ValidString(login) || !utf8.ValidString(password) {
		// Encoding would replace the bad bytes and so send a different credential.
		return identity.Profile{}, fmt.Errorf("webhook: verify password: login or password not valid UTF-8: %w", identity.ErrRejected)
	}
	body, err := json.Marshal(map[string]string{p.request.Login: login, p.request.Password: password})
	if err != nil {
		return identity.Profile{}, errors.New("webhook: verify password: cannot encode request")
	}
	rctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, p.url.String(), bytes.NewReader(body))
	if err != nil {
		return identity.Profile{}, errors.New("webhook: verify password: cannot build request")
	}
	req.Header = p.header.Clone()
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}

	resp, err := p.client.Do(req)
	if err != nil {
		return identity.Profile{}, p.exchangeError(ctx, "request", err)
	}
	defer resp.Body.Close()

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusNotFound:
		p.drain(resp.Body)
		return identity.Profile{}, fmt.Errorf("webhook: verify password: provider refused with status %d: %w", code, identity.ErrRejected)
	case code >= 300 && code < 400:
		p.drain(resp.Body)
		return identity.Profile{}, fmt.Errorf("webhook: verify password: unexpected status %d: redirects are not followed", code)
	default:
		p.drain(resp.Body)
		return identity.Profile{}, fmt.Errorf("webhook: verify password: unexpected status %d", code)
	}
	if err := checkContentType(resp.Header.Get("Content-Type")); err != nil {
		return identity.Profile{}, fmt.Errorf("webhook: verify password: response: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, p.maxBytes+1))
	if err != nil {
		return identity.Profile{}, p.exchangeError(ctx, "read response", err)
	}
	if int64(len(data)) > p.maxBytes {
		return identity.Profile{}, fmt.Errorf("webhook: verify password: response: body over %d bytes", p.maxBytes)
	}
	prof, err := p.parse(data)
	if err != nil {
		return identity.Profile{}, fmt.Errorf("webhook: verify password: response: %w", err)
	}
	return prof, nil
}

// exchangeError describes a failed exchange without the URL (*url.Error would show it, query and
// all), telling apart the caller giving up (parent's error) from the provider taking too long.
func (p *Provider) exchangeError(parent context.Context, op string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("webhook: verify password: %s: %w", op, perr)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout() {
		return fmt.Errorf("webhook: verify password: %s: no answer within %v: %w", op, p.timeout, err)
	}
	return fmt.Errorf("webhook: verify password: %s: %w", op, err)
}

// drain reads a little of an unwanted body so the connection can be reused.
func (p *Provider) drain(body io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, p.maxBytes))
}

func checkURL(raw string, insecure bool) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("does not parse") // url.Parse's error repeats the URL
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, errors.New("scheme must be http or https")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, errors.New("no host")
	}
	if u.User != nil {
		return nil, errors.New("must not hold credentials; send them in Header")
	}
	if u.Scheme == "http" && !insecure && !isLoopback(u.Hostname()) {
		return nil, errors.New("plain http is only allowed to a loopback host unless AllowInsecureHTTP is set")
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkHeader clones h after checking that names are HTTP tokens and values hold no line breaks
// or NULs. Errors name the header, never its value, which is likely a key.
func checkHeader(h http.Header) (http.Header, error) {
	for name, values := range h {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
			return nil, fmt.Errorf("header %q: invalid name", name)
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return nil, fmt.Errorf("header %q: invalid value", name)
			}
		}
	}
	if h == nil {
		return http.Header{}, nil
	}
	return h.Clone(), nil
}

// isTokenChar reports an RFC 9110 tchar, ASCII only.
func isTokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

func checkContentType(ct string) error {
	if ct == "" {
		return errors.New("no content type")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return errors.New("content type is not application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return errors.New("charset is not utf-8")
	}
	return nil
}

// checkName refuses a field name no sane JSON key has: blank or holding control characters.
func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("blank")
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, isControl) >= 0 {
		return errors.New("invalid characters")
	}
	return nil
}

func splitPath(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if err := checkName(s); err != nil {
			return nil, fmt.Errorf("segment: %w", err)
		}
	}
	return segs, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Package oidc verifies ID tokens of any OpenID Connect provider from its issuer URL: discovery
// (HTTPS only; plain HTTP only to a loopback address, for tests), the provider's JWKS with
// caching and key rotation (github.com/coreos/go-oidc/v3), then signature, issuer, audience,
// expiry and, when given, nonce (S43). A *Verifier is an identity.TokenVerifier, so an app
// that gets an ID token on the device signs in with
//
//	cfg.Providers = map[string]identity.TokenVerifier{"google": oidc.Google(clientID)}
//	engine.SignIn(ctx, authcube.Credentials{Provider: "google", Token: idToken})
//
// Accounts are keyed by (provider, subject) by authcube; this package never looks at emails
// beyond reporting them with the provider's verified flag.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/authcube/authcube/identity"
)

// Well-known issuers of the presets.
const (
	IssuerGoogle = "https://accounts.google.com"
	IssuerApple  = "https://appleid.apple.com"
)

// microsoftConsumers is the tenant id of personal Microsoft accounts.
const microsoftConsumers = "9188040d-6c67-4c5b-b112-36a304b66dad"

// MaxResponseSize caps the discovery document and the JWKS read from a provider: 1 MiB.
const MaxResponseSize = 1 << 20

// DefaultTimeout bounds each request to the provider when Config.HTTPClient is nil: 10 seconds.
const DefaultTimeout = 10 * time.Second

// Config configures a Verifier.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery document and tokens state
	// it ("https://accounts.google.com"). Required; https, or http to a loopback address.
	Issuer string
	// ClientID is the audience tokens must name (the app's client id at the provider).
	// Required.
	ClientID string
	// HTTPClient fetches the discovery document and the keys. Default: a client with
	// DefaultTimeout. Responses over MaxResponseSize are refused either way.
	HTTPClient *http.Client
	// Now is the clock for expiry. Default time.Now.
	Now func() time.Time
}

// Verifier verifies the ID tokens of one provider for one client id. It discovers the
// provider on first use (and again after a failed discovery), so an app starts while the
// provider is unreachable. Safe for concurrent use.
type Verifier struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
}

// New returns a Verifier for cfg. It makes no request; errors are for a Config that can never
// work: an empty or malformed issuer, an issuer over plain HTTP to a host that is not
// loopback, or an empty client id.
func New(cfg Config) (*Verifier, error) {
	if err := checkURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("oidc: issuer: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: client id is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: DefaultTimeout}
	}
	c := *base
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = limitTransport{rt}
	return &Verifier{cfg: cfg, client: &c}, nil
}

// must panics on a preset whose configuration is invalid (an empty client id).
func must(v *Verifier, err error) *Verifier {
	if err != nil {
		panic(err)
	}
	return v
}

// Google returns a Verifier of Google ID tokens for clientID. It panics when clientID is empty.
func Google(clientID string) *Verifier {
	return must(New(Config{Issuer: IssuerGoogle, ClientID: clientID}))
}

// Apple returns a Verifier of "Sign in with Apple" ID tokens for clientID (the app's bundle id,
// or the services id on the web). It panics when clientID is empty. Apple states
// email_verified as a string; it is read either way.
func Apple(clientID string) *Verifier {
	return must(New(Config{Issuer: IssuerApple, ClientID: clientID}))
}

// Microsoft returns a Verifier of Microsoft identity platform (v2.0) ID tokens of one tenant:
// tenant is a directory (tenant) id, or "consumers" for personal Microsoft accounts. The
// multi-tenant endpoints "common" and "organizations" are refused (their issuer differs per
// tenant and cannot be pinned): it panics for them, and when clientID is empty.
func Microsoft(tenant, clientID string) *Verifier {
	switch tenant {
	case "", "common", "organizations":
		panic(fmt.Sprintf("oidc: Microsoft tenant %q: give a tenant id or \"consumers\"", tenant))
	case "consumers":
		tenant = microsoftConsumers
	}
	return must(New(Config{Issuer: "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/v2.0", ClientID: clientID}))
}

// Issuer returns the issuer URL v verifies.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

// ClientID returns the audience v requires.
func (v *Verifier) ClientID() string { return v.cfg.ClientID }

// Context returns ctx set up for go-oidc and golang.org/x/oauth2 to use v's HTTP client
// (bounded responses and timeout).
func (v *Verifier) Context(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, v.client)
}

// Provider discovers the provider (once; again after a failure) and returns it, for the
// authorization-code flow's endpoints. The discovery document must state v's issuer exactly,
// and its endpoints must be https (or http to loopback, as the issuer may be).
func (v *Verifier) Provider(ctx context.Context) (*gooidc.Provider, error) {
	if _, err := v.load(ctx); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.provider, nil
}

func (v *Verifier) load(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	p, err := gooidc.NewProvider(v.Context(ctx), v.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", v.cfg.Issuer, err)
	}
	var doc struct {
		JWKS  string `json:"jwks_uri"`
		Auth  string `json:"authorization_endpoint"`
		Token string `json:"token_endpoint"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, fmt.Errorf("oidc: discovery of %s: %w", v.cfg.Issuer, err)
	}
	for name, u := range map[string]string{"jwks_uri": doc.JWKS, "authorization_endpoint": doc.Auth, "token_endpoint": doc.Token} {
		if u == "" && name != "jwks_uri" {
			continue // a provider for tokens only
		}
		if err := checkURL(u); err != nil {
			return nil, fmt.Errorf("oidc: discovery of %s: %s: %w", v.cfg.Issuer, name, err)
		}
	}
	// The key set lives as long as the Verifier (background context): go-oidc caches the keys
	// and fetches them again when a token names a key it does not know (rotation).
	v.provider = p
	v.verifier = p.VerifierContext(gooidc.ClientContext(context.Background(), v.client), &gooidc.Config{
		ClientID: v.cfg.ClientID,
		Now:      v.cfg.Now,
	})
	return v.verifier, nil
}

// VerifyToken checks an ID token without a nonce: signature by the provider's keys, issuer,
// audience (Config.ClientID) and expiry; a nonce set on ctx with WithNonce is checked too. It
// returns the claims, an error wrapping identity.ErrRejected for a token that is not valid, or
// another error when the provider cannot be discovered.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (identity.Claims, error) {
	nonce, _ := ctx.Value(nonceKey{}).(string)
	return v.verify(ctx, token, nonce)
}

// VerifyNonce is VerifyToken that also requires the token's nonce claim to equal nonce, which
// must not be empty: the check of the authorization-code flow.
func (v *Verifier) VerifyNonce(ctx context.Context, token, nonce string) (identity.Claims, error) {
	if nonce == "" {
		return identity.Claims{}, errors.New("oidc: empty nonce")
	}
	return v.verify(ctx, token, nonce)
}

type nonceKey struct{}

// WithNonce returns ctx carrying the nonce an ID token verified under it must have, so an app
// that sent a nonce to the provider on the device can pass it through authcube's SignIn.
func WithNonce(ctx context.Context, nonce string) context.Context {
	return context.WithValue(ctx, nonceKey{}, nonce)
}

func (v *Verifier) verify(ctx context.Context, token, nonce string) (identity.Claims, error) {
	iv, err := v.load(ctx)
	if err != nil {
		return identity.Claims{}, err
	}
	t, err := iv.Verify(v.Context(ctx), token)
	if err != nil {
		if ctx.Err() != nil {
			return identity.Claims{}, ctx.Err()
		}
		return identity.Claims{}, fmt.Errorf("%w: %v", identity.ErrRejected, err)
	}
	if nonce != "" && t.Nonce != nonce {
		return identity.Claims{}, fmt.Errorf("%w: nonce does not match", identity.ErrRejected)
	}
	if t.Subject == "" {
		return identity.Claims{}, fmt.Errorf("%w: no subject", identity.ErrRejected)
	}
	var extra struct {
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
		Phone         string   `json:"phone_number"`
		PhoneVerified flexBool `json:"phone_number_verified"`
	}
	if err := t.Claims(&extra); err != nil {
		return identity.Claims{}, fmt.Errorf("%w: claims: %v", identity.ErrRejected, err)
	}
	c := identity.Claims{
		Subject:        t.Subject,
		Email:          extra.Email,
		EmailVerified:  extra.Email != "" && bool(extra.EmailVerified),
		SignInProvider: "oidc",
		IssuedAt:       t.IssuedAt,
		ExpiresAt:      t.Expiry,
	}
	if extra.PhoneVerified {
		c.Phone = extra.Phone
	}
	return c, nil
}

// flexBool reads a JSON boolean, or the strings "true" and "false" (Apple).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %.20s", data)
	}
	return nil
}

// checkURL accepts an absolute https URL, or an http URL to a loopback host.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%q: only https (or http to a loopback address) is allowed", raw)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// limitTransport refuses response bodies over MaxResponseSize.
type limitTransport struct{ rt http.RoundTripper }

func (l limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxResponseSize}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("oidc: response over %d bytes", MaxResponseSize)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

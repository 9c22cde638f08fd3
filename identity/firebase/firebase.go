// Package firebase verifies Firebase ID tokens offline, following Firebase's rules for
// third-party JWT libraries (S21): RS256 signatures by a trusted key, a project id
// taken from the configuration and never from the token, and strict checks of every claim it
// reads. It uses only the standard library.
//
// Keys are given in [Config.Keys] (Google's x509 format or a JWKS) and, where configured,
// refreshed from [Config.KeysURL] with caching; with neither, every token is denied.
package firebase

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authcube/authcube/identity"
)

// Defaults and limits.
const (
	// GoogleKeysURL serves the public keys of Firebase ID tokens in Google's x509 format.
	GoogleKeysURL = "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
	// IssuerPrefix followed by the project id is the only accepted "iss".
	IssuerPrefix = "https://securetoken.google.com/"
	// DefaultLeeway is the clock skew allowed for iat, auth_time and nbf when Config.Leeway is 0.
	DefaultLeeway = 60 * time.Second
	// DefaultCacheMaxAge is how long fetched keys are fresh when the response has no max-age.
	DefaultCacheMaxAge = time.Hour
	// MaxCacheMaxAge caps the max-age of a keys response.
	MaxCacheMaxAge = 24 * time.Hour
	// MinRefetchInterval is the least time between two fetches of Config.KeysURL, whatever
	// prompted them (stale keys or an unknown kid).
	MinRefetchInterval = time.Minute
	// DefaultFetchTimeout bounds each fetch of Config.KeysURL, and is the timeout of the
	// default client.
	DefaultFetchTimeout = 10 * time.Second
	// MaxTokenSize is the size in bytes of the largest token considered.
	MaxTokenSize = 8 << 10
	// MaxKeysSize is the size in bytes of the largest key set accepted from Config.KeysURL.
	MaxKeysSize = 1 << 20
	// MaxSubjectLength is the longest "sub" accepted, in characters (Firebase's uid limit).
	MaxSubjectLength = 128
)

// Config configures a [Verifier]. The zero value of each optional field takes the default its
// comment states.
type Config struct {
	// ProjectID is the Firebase project id; required. "aud" must equal it and "iss" must be
	// IssuerPrefix+ProjectID: the project a token claims for itself is never trusted.
	ProjectID string
	// Keys are the trusted public keys, either in Google's x509 format (a JSON object mapping
	// each kid to a PEM certificate, as served at GoogleKeysURL) or a JWKS
	// ({"keys":[{"kty":"RSA","kid":..,"n":..,"e":..}]}). Only RSA keys of 2048 to 8192 bits are
	// accepted. Optional when KeysURL is set, in which case they are the initial set until the
	// first successful fetch replaces them. With neither Keys nor KeysURL every token is denied.
	Keys []byte
	// KeysURL, optional, is an http or https URL serving the keys in either format (in
	// production, GoogleKeysURL). Keys are cached for the response's Cache-Control max-age
	// (DefaultCacheMaxAge when absent, at most MaxCacheMaxAge) and refetched when stale or when
	// a token names an unknown kid, at most once per MinRefetchInterval; a failed fetch keeps
	// the last good set.
	KeysURL string
	// Client fetches KeysURL; nil means a client with a DefaultFetchTimeout timeout that does
	// not follow redirects. Each fetch is also bounded by DefaultFetchTimeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Leeway is the clock skew allowed for iat, auth_time and nbf (which may be up to Leeway
	// in the future); 0 means DefaultLeeway and a negative value none. It never applies to
	// exp: a token is refused from its exp on.
	Leeway time.Duration
}

// Verifier verifies Firebase ID tokens; it implements [identity.TokenVerifier]. It is safe for
// concurrent use. Create it with [New].
type Verifier struct {
	projectID string
	issuer    string
	now       func() time.Time
	leeway    time.Duration
	keys      keySource
	provider  string // required firebase.sign_in_provider, if not empty
}

var _ identity.TokenVerifier = (*Verifier)(nil)

// New returns a Verifier for cfg. It returns an error when ProjectID is empty, when Keys is
// not empty but cannot be parsed or holds no usable key, and when KeysURL is not an absolute
// http or https URL. Having neither Keys nor KeysURL is allowed: every token is then denied.
// New does no I/O: keys are first fetched from KeysURL by the first verification.
func New(cfg Config) (*Verifier, error) {
	if cfg.ProjectID == "" {
		return nil, errors.New("firebase: new: project id required")
	}
	if strings.ContainsAny(cfg.ProjectID, "/?#") || strings.ContainsFunc(cfg.ProjectID, isControl) {
		return nil, errors.New("firebase: new: invalid project id")
	}
	v := &Verifier{
		projectID: cfg.ProjectID,
		issuer:    IssuerPrefix + cfg.ProjectID,
		now:       cfg.Now,
		leeway:    cfg.Leeway,
	}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	var keys map[string]*rsa.PublicKey
	if len(cfg.Keys) > 0 {
		var err error
		if keys, err = parseKeys(cfg.Keys); err != nil {
			return nil, fmt.Errorf("firebase: new: %w", err)
		}
	}
	if cfg.KeysURL == "" {
		v.keys = staticKeys(keys)
		return v, nil
	}
	u, err := url.Parse(cfg.KeysURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("firebase: new: keys url: not an absolute http or https url")
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{
			Timeout: DefaultFetchTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	v.keys = &remoteKeys{url: cfg.KeysURL, client: client, now: v.now, keys: keys}
	return v, nil
}

// WithSignInProvider returns a verifier that also requires firebase.sign_in_provider to be p
// and, when p is "phone", a phone_number. It shares v's keys and cache, and is safe for
// concurrent use. An empty p adds no requirement.
func (v *Verifier) WithSignInProvider(p string) identity.TokenVerifier {
	w := *v
	w.provider = p
	return &w
}

// VerifyToken checks a Firebase ID token and returns its claims. A token that is not valid
// gives an error wrapping [identity.ErrRejected] with a short reason (never the token itself).
// When no key can be had (none configured, or fetching failed with no earlier set to fall
// back on) or ctx ends while waiting for keys, the error does not wrap ErrRejected: the
// provider could not say. Any error denies.
func (v *Verifier) VerifyToken(ctx context.Context, token string) (identity.Claims, error) {
	if err := ctx.Err(); err != nil {
		return identity.Claims{}, fmt.Errorf("firebase: verify token: %w", err)
	}
	if len(token) > MaxTokenSize {
		return identity.Claims{}, reject("token too large")
	}
	parts := strings.SplitN(token, ".", 4)
	if len(parts) != 3 {
		return identity.Claims{}, reject("not three parts")
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return identity.Claims{}, reject("header: bad base64url")
	}
	kid, err := parseHeader(header)
	if err != nil {
		return identity.Claims{}, err
	}
	payload, err := decodeSegment(parts[1])
	if err != nil {
		return identity.Claims{}, reject("payload: bad base64url")
	}
	sig, err := decodeSegment(parts[2])
	if err != nil || len(sig) == 0 {
		return identity.Claims{}, reject("signature: bad base64url or empty")
	}
	key, err := v.keys.key(ctx, kid)
	if err != nil {
		return identity.Claims{}, err
	}
	digest := sha256.Sum256([]byte(token[:len(parts[0])+1+len(parts[1])]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig) != nil {
		return identity.Claims{}, reject("bad signature")
	}
	c, err := v.parseClaims(payload, v.now())
	if err != nil {
		return identity.Claims{}, err
	}
	if v.provider != "" {
		if c.SignInProvider != v.provider {
			return identity.Claims{}, reject("sign_in_provider: not the one required")
		}
		if v.provider == "phone" && c.Phone == "" {
			return identity.Claims{}, reject("phone_number: missing")
		}
	}
	return c, nil
}

// rejection is a refused token: it wraps identity.ErrRejected and carries a fixed reason.
type rejection string

func (r rejection) Error() string { return "firebase: token rejected: " + string(r) }
func (r rejection) Unwrap() error { return identity.ErrRejected }

func reject(reason string) error { return rejection(reason) }

// decodeSegment decodes strict, unpadded base64url. The alphabet is checked first because the
// decoder skips CR and LF.
func decodeSegment(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, errors.New("invalid character")
		}
	}
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// parseHeader checks the JOSE header and returns its kid.
func parseHeader(data []byte) (string, error) {
	h, err := decodeObject(data)
	if err != nil {
		return "", reject("header: malformed JSON")
	}
	alg, ok, err := h.str("header: alg", "alg")
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", reject("header: alg missing")
	case alg != "RS256":
		return "", reject("header: alg not RS256")
	}
	if typ, ok, err := h.str("header: typ", "typ"); err != nil {
		return "", err
	} else if ok && typ != "JWT" {
		return "", reject("header: typ not JWT")
	}
	if _, ok := h["crit"]; ok {
		return "", reject("header: crit not supported")
	}
	kid, ok, err := h.str("header: kid", "kid")
	switch {
	case err != nil:
		return "", err
	case !ok || kid == "":
		return "", reject("header: kid missing")
	}
	return kid, nil
}

package firebase

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSA key sizes accepted, in bits.
const (
	minKeyBits = 2048
	maxKeyBits = 8192
)

// keySource finds the public key of a kid. An unknown kid, with keys to compare it against,
// is a rejection; having no keys at all is an error that is not.
type keySource interface {
	key(ctx context.Context, kid string) (*rsa.PublicKey, error)
}

// staticKeys are the keys of Config.Keys when there is no KeysURL.
type staticKeys map[string]*rsa.PublicKey

func (s staticKeys) key(_ context.Context, kid string) (*rsa.PublicKey, error) {
	if len(s) == 0 {
		return nil, errors.New("firebase: verify token: no keys configured")
	}
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, reject("unknown kid")
}

// remoteKeys are keys fetched from a URL and cached. At most one fetch runs at a time; callers
// needing it wait for it or for their ctx. The fetch itself is detached from the caller's
// cancellation (so one impatient caller does not spoil it for the others) and bounded by
// DefaultFetchTimeout.
type remoteKeys struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	keys        map[string]*rsa.PublicKey // the last good set; nil before any
	expires     time.Time                 // keys are fresh before this
	attempted   bool                      // a fetch was started
	lastAttempt time.Time                 // when the last fetch started
	lastErr     error                     // of the last fetch, nil if it succeeded
	inflight    chan struct{}             // closed when the running fetch ends; nil if none
}

func (r *remoteKeys) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	r.mu.Lock()
	now := r.now()
	if k, ok := r.keys[kid]; ok && now.Before(r.expires) {
		r.mu.Unlock()
		return k, nil
	}
	// Stale keys or an unknown kid (a rotation, or a forged kid): fetch, rate-limited.
	wait := r.inflight
	if wait == nil && (!r.attempted || now.Sub(r.lastAttempt) >= MinRefetchInterval || now.Before(r.lastAttempt)) {
		wait = make(chan struct{})
		r.inflight, r.attempted, r.lastAttempt = wait, true, now
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultFetchTimeout)
		go func() {
			defer cancel()
			r.fetch(fctx, now, wait)
		}()
	}
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("firebase: verify token: waiting for keys: %w", ctx.Err())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[kid]; ok {
		return k, nil // possibly stale: the last good set outlives failed fetches
	}
	if len(r.keys) == 0 {
		if r.lastErr != nil {
			return nil, fmt.Errorf("firebase: verify token: no usable keys: %w", r.lastErr)
		}
		return nil, errors.New("firebase: verify token: no usable keys")
	}
	return nil, reject("unknown kid")
}

// fetch gets the keys, stores them if good, and closes done.
func (r *remoteKeys) fetch(ctx context.Context, started time.Time, done chan struct{}) {
	keys, maxAge, err := r.get(ctx)
	r.mu.Lock()
	if err == nil {
		r.keys, r.expires = keys, started.Add(maxAge)
	}
	r.lastErr = err
	r.inflight = nil
	r.mu.Unlock()
	close(done)
}

func (r *remoteKeys) get(ctx context.Context) (map[string]*rsa.PublicKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetch keys: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxKeysSize+1))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch keys: %w", err)
	}
	if len(body) > MaxKeysSize {
		return nil, 0, errors.New("fetch keys: response too large")
	}
	keys, err := parseKeys(body)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch keys: %w", err)
	}
	return keys, maxAge(resp.Header.Values("Cache-Control")), nil
}

// maxAge returns the max-age of Cache-Control header values: DefaultCacheMaxAge when there is
// none, 0 for no-cache or no-store, capped at MaxCacheMaxAge.
func maxAge(values []string) time.Duration {
	age := DefaultCacheMaxAge
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-cache", "no-store":
				return 0
			case "max-age":
				// delta-seconds: digits only, so a sign or a number past uint64 means no caching.
				n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 64)
				if err != nil {
					return 0
				}
				age = time.Duration(min(n, uint64(MaxCacheMaxAge/time.Second))) * time.Second
			}
		}
	}
	return age
}

// parseKeys parses a key set: a JWKS when the object has a "keys" array, else Google's x509
// format. JWKS entries that are not RSA signing keys for RS256 are skipped; any other
// malformed entry, a duplicate kid or a key outside 2048 to 8192 bits fails the whole set, as
// does a set with no usable key.
func parseKeys(data []byte) (map[string]*rsa.PublicKey, error) {
	top, err := decodeObject(data)
	if err != nil {
		return nil, fmt.Errorf("keys: malformed JSON: %w", err)
	}
	var keys map[string]*rsa.PublicKey
	if raw, ok := top["keys"]; ok && bytes.HasPrefix(raw, []byte("[")) {
		keys, err = parseJWKS(raw)
	} else {
		keys, err = parseX509(top)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if len(keys) == 0 {
		return nil, errors.New("keys: no usable RSA key")
	}
	return keys, nil
}

func parseX509(top object) (map[string]*rsa.PublicKey, error) {
	keys := make(map[string]*rsa.PublicKey, len(top))
	for kid, raw := range top {
		if kid == "" {
			return nil, errors.New("empty kid")
		}
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, fmt.Errorf("kid %q: not a PEM string", kid)
		}
		block, rest := pem.Decode([]byte(s))
		if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
			return nil, fmt.Errorf("kid %q: not one PEM certificate", kid)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("kid %q: %w", kid, err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("kid %q: not an RSA key", kid)
		}
		if err := checkKey(pub); err != nil {
			return nil, fmt.Errorf("kid %q: %w", kid, err)
		}
		keys[kid] = pub
	}
	return keys, nil
}

func parseJWKS(raw json.RawMessage) (map[string]*rsa.PublicKey, error) {
	var set []struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, errors.New("malformed JWKS")
	}
	keys := make(map[string]*rsa.PublicKey, len(set))
	for i, k := range set {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		if k.Kid == "" {
			return nil, fmt.Errorf("key %d: no kid", i)
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("kid %q: duplicate", k.Kid)
		}
		n, errN := decodeSegment(k.N)
		e, errE := decodeSegment(k.E)
		if errN != nil || errE != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("kid %q: bad n or e", k.Kid)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if err := checkKey(pub); err != nil {
			return nil, fmt.Errorf("kid %q: %w", k.Kid, err)
		}
		keys[k.Kid] = pub
	}
	return keys, nil
}

func checkKey(pub *rsa.PublicKey) error {
	if bits := pub.N.BitLen(); bits < minKeyBits || bits > maxKeyBits {
		return fmt.Errorf("RSA key of %d bits, want %d to %d", bits, minKeyBits, maxKeyBits)
	}
	if pub.E < 3 || pub.E > 1<<31-1 || pub.E%2 == 0 {
		return errors.New("bad RSA exponent")
	}
	return nil
}

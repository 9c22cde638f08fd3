package firebase_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
)

const project = "demo-authcube"

const phone = "+15551234567"

// newIssuer returns an issuer whose clock (and that of the verifiers made from it) is a fake
// one: time moves only when the test says so.
func newIssuer(t testing.TB) (*firebasetest.Issuer, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	iss := firebasetest.NewIssuer(project)
	iss.Now = clk.Now
	return iss, clk
}

// clock is a fake clock like authtest.Clock, which these tests do not import: it would link
// the whole engine and SQLite into the test binary, built once per mutant by
// scripts/mutation.sh.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func verifier(t testing.TB, iss *firebasetest.Issuer) *firebase.Verifier {
	t.Helper()
	v, ok := iss.Verifier().(*firebase.Verifier)
	require.True(t, ok, "Issuer.Verifier is a *firebase.Verifier")
	return v
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func requireRejected(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, identity.ErrRejected)
	assert.Contains(t, err.Error(), reason)
}

func TestValidTokens(t *testing.T) {
	iss, clk := newIssuer(t)
	v := verifier(t, iss)
	ctx := context.Background()
	now := clk.Now()

	c, err := v.VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	require.NoError(t, err)
	assert.Equal(t, identity.Claims{
		Subject: "uid-1", Phone: phone, SignInProvider: "phone",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}, c)

	c, err = v.VerifyToken(ctx, iss.EmailToken("uid-2", "ann@example.com"))
	require.NoError(t, err)
	assert.Equal(t, identity.Claims{
		Subject: "uid-2", Email: "ann@example.com", EmailVerified: true, SignInProvider: "password",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}, c)

	_, err = v.WithSignInProvider("phone").VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	assert.NoError(t, err)
	_, err = v.WithSignInProvider("password").VerifyToken(ctx, iss.EmailToken("uid-2", "a@b.c"))
	assert.NoError(t, err)

	// Both key formats, and a header without typ.
	for name, keys := range map[string][]byte{"x509": iss.KeysJSON(), "jwks": iss.JWKS()} {
		v, err := firebase.New(firebase.Config{ProjectID: project, Keys: keys, Now: clk.Now})
		require.NoError(t, err, name)
		_, err = v.VerifyToken(ctx, iss.SignRaw(map[string]any{"alg": "RS256", "kid": iss.KID()}, iss.Claims("u")))
		assert.NoError(t, err, name)
	}
}

// TestMutations changes each claim and header field of a valid phone token in turn (S21).
func TestMutations(t *testing.T) {
	iss, clk := newIssuer(t)
	other := firebasetest.NewIssuer(project)
	other.Now = clk.Now
	v := verifier(t, iss)
	now := clk.Now().Unix()

	base := func() map[string]any {
		c := iss.Claims("uid-1")
		c["phone_number"] = phone
		c["firebase"] = map[string]any{"sign_in_provider": "phone"}
		return c
	}
	claims := func(f func(c map[string]any)) func() string {
		return func() string { c := base(); f(c); return iss.Token(c) }
	}
	set := func(name string, val any) func() string {
		return claims(func(c map[string]any) { c[name] = val })
	}
	del := func(name string) func() string {
		return claims(func(c map[string]any) { delete(c, name) })
	}
	fb := func(key string, val any) func() string {
		return claims(func(c map[string]any) { c["firebase"].(map[string]any)[key] = val })
	}
	header := func(h map[string]any) func() string {
		return func() string { return iss.SignRaw(h, base()) }
	}
	kid := iss.KID()
	// raw signs a payload built from the base claims by a textual edit.
	raw := func(edit func(string) string) func() string {
		return func() string {
			b, err := json.Marshal(base())
			require.NoError(t, err)
			return iss.SignJSON([]byte(`{"alg":"RS256","kid":"`+kid+`","typ":"JWT"}`), []byte(edit(string(b))))
		}
	}
	valid := iss.Token(base())
	parts := strings.Split(valid, ".")
	hmacWith := func(secret []byte) func() string {
		return func() string {
			input := b64(`{"alg":"HS256","kid":"`+kid+`","typ":"JWT"}`) + "." + parts[1]
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(input))
			return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		}
	}
	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey())
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	var certs map[string]string
	require.NoError(t, json.Unmarshal(iss.KeysJSON(), &certs))

	tests := []struct {
		name, reason string
		token        func() string
	}{
		{"exp past", "exp: expired", set("exp", now-1)},
		{"exp now", "exp: expired", set("exp", now)},
		{"exp missing", "exp: missing", del("exp")},
		{"exp string", "exp: not a number", set("exp", "9999999999")},
		{"exp null", "exp: not a number", set("exp", nil)},
		{"exp negative", "exp: not a number", set("exp", -1)},
		{"exp fraction", "exp: not a whole number", set("exp", float64(now)+3600.5)},
		{"exp huge", "exp: not a whole number", set("exp", 1e300)},
		{"iat future", "iat: in the future", set("iat", now+61)},
		{"iat missing", "iat: missing", del("iat")},
		{"iat after exp", "exp: not after iat", claims(func(c map[string]any) { c["iat"], c["exp"] = now+30, now+10 })},
		{"auth_time missing", "auth_time: missing", del("auth_time")},
		{"auth_time future", "auth_time: in the future", set("auth_time", now+61)},
		{"auth_time string", "auth_time: not a number", set("auth_time", "now")},
		{"nbf future", "nbf: in the future", set("nbf", now+61)},
		{"aud other project", "aud: not this project", set("aud", "other-project")},
		{"aud array", "aud: not a string", set("aud", []string{project})},
		{"aud missing", "aud: missing", del("aud")},
		{"iss other project", "iss: not this project", set("iss", firebase.IssuerPrefix+"other-project")},
		{"iss other host", "iss: not this project", set("iss", "https://evil.example/"+project)},
		{"iss missing", "iss: missing", del("iss")},
		{"sub empty", "sub: empty", claims(func(c map[string]any) { c["sub"], c["user_id"] = "", "" })},
		{"sub too long", "sub: empty, too long", claims(func(c map[string]any) {
			c["sub"] = strings.Repeat("x", 129)
			c["user_id"] = c["sub"]
		})},
		{"sub control", "sub: empty, too long or invalid", claims(func(c map[string]any) { c["sub"], c["user_id"] = "a\nb", "a\nb" })},
		{"sub number", "sub: not a string", set("sub", 42)},
		{"sub missing", "sub: missing", del("sub")},
		{"sub not user_id", "user_id: not sub", set("user_id", "uid-2")},
		{"user_id number", "user_id: not a string", set("user_id", 1)},
		{"phone no plus", "phone_number: not E.164", set("phone_number", "15551234567")},
		{"phone leading zero", "phone_number: not E.164", set("phone_number", "+05551234567")},
		{"phone 16 digits", "phone_number: not E.164", set("phone_number", "+1234567890123456")},
		{"phone spaces", "phone_number: not E.164", set("phone_number", "+1 555 123 4567")},
		{"phone empty", "phone_number: not E.164", set("phone_number", "")},
		{"phone number type", "phone_number: not a string", set("phone_number", 15551234567)},
		{"email number", "email: not a string", set("email", 7)},
		{"email_verified string", "email_verified: not a boolean", set("email_verified", "true")},
		{"firebase missing", "firebase: missing", del("firebase")},
		{"firebase string", "firebase: not an object", set("firebase", "phone")},
		{"provider missing", "sign_in_provider: missing", set("firebase", map[string]any{})},
		{"provider empty", "sign_in_provider: missing", fb("sign_in_provider", "")},
		{"provider number", "sign_in_provider: not a string", fb("sign_in_provider", 1)},
		{"tenant", "tenants not supported", fb("tenant", "t-1")},

		{"alg none", "alg not RS256", func() string { return b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + "." }},
		{"alg none signed", "alg not RS256", header(map[string]any{"alg": "none", "kid": kid})},
		{"alg HS256 with PEM public key", "alg not RS256", hmacWith(pubPEM)},
		{"alg HS256 with DER public key", "alg not RS256", hmacWith(der)},
		{"alg HS256 with certificate", "alg not RS256", hmacWith([]byte(certs[kid]))},
		{"alg RS512", "alg not RS256", header(map[string]any{"alg": "RS512", "kid": kid, "typ": "JWT"})},
		{"alg lower case", "alg not RS256", header(map[string]any{"alg": "rs256", "kid": kid})},
		{"alg missing", "alg missing", header(map[string]any{"kid": kid, "typ": "JWT"})},
		{"alg number", "alg: not a string", header(map[string]any{"alg": 256, "kid": kid})},
		{"typ other", "typ not JWT", header(map[string]any{"alg": "RS256", "kid": kid, "typ": "at+jwt"})},
		{"crit", "crit not supported", header(map[string]any{"alg": "RS256", "kid": kid, "crit": []string{"exp"}})},
		{"kid unknown", "unknown kid", header(map[string]any{"alg": "RS256", "kid": "nope"})},
		{"kid missing", "kid missing", header(map[string]any{"alg": "RS256", "typ": "JWT"})},
		{"kid empty", "kid missing", header(map[string]any{"alg": "RS256", "kid": ""})},
		{"kid number", "kid: not a string", header(map[string]any{"alg": "RS256", "kid": 1})},
		{"other issuer", "unknown kid", func() string { return other.PhoneToken("uid-1", phone) }},
		{"other key, our kid", "bad signature", func() string {
			return other.SignRaw(map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}, base())
		}},
		{"tampered payload", "bad signature", func() string {
			c := base()
			c["sub"], c["user_id"] = "admin", "admin"
			b, _ := json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		}},
		{"tampered signature", "bad signature", func() string {
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			sig[len(sig)/2] ^= 1
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
		}},
		{"truncated signature", "bad signature", func() string {
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig[:len(sig)-1])
		}},
		{"non-canonical base64", "signature: bad base64url", func() string {
			// A 256-byte signature ends in a character carrying 2 bits and 4 zero bits: set one.
			last := valid[len(valid)-1]
			require.Contains(t, "AQgw", string(last))
			return valid[:len(valid)-1] + string(last+1)
		}},
		{"padded header", "header: bad base64url", func() string { return parts[0] + "=." + parts[1] + "." + parts[2] }},
		{"std base64 payload", "payload: bad base64url", func() string { return parts[0] + "." + parts[1] + "+." + parts[2] }},
		{"newline in payload", "payload: bad base64url", func() string { return parts[0] + "." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2] }},
		{"padded signature", "signature: bad base64url", func() string { return valid + "==" }},
		{"empty signature", "signature: bad base64url or empty", func() string { return parts[0] + "." + parts[1] + "." }},
		{"four parts", "not three parts", func() string { return valid + ".x" }},
		{"two parts", "not three parts", func() string { return parts[0] + "." + parts[1] }},
		{"empty", "not three parts", func() string { return "" }},
		{"oversize", "token too large", set("pad", strings.Repeat("a", firebase.MaxTokenSize))},
		{"duplicate sub", "payload: malformed JSON", raw(func(s string) string { return `{"sub":"admin",` + s[1:] })},
		{"duplicate escaped", "payload: malformed JSON", raw(func(s string) string { return `{"s\u0075b":"admin",` + s[1:] })},
		{"duplicate nested", "payload: malformed JSON", raw(func(s string) string {
			return strings.Replace(s, `"firebase":{`, `"firebase":{"sign_in_provider":"custom",`, 1)
		})},
		{"duplicate header", "header: malformed JSON", func() string {
			return iss.SignJSON([]byte(`{"alg":"RS256","alg":"none","kid":"`+kid+`"}`), []byte(`{}`))
		}},
		{"payload array", "payload: malformed JSON", raw(func(s string) string { return "[" + s + "]" })},
		{"payload trailing", "payload: malformed JSON", raw(func(s string) string { return s + "{}" })},
		{"payload bad utf-8", "payload: malformed JSON", raw(func(s string) string {
			return strings.Replace(s, `"uid-1"`, "\"uid-\xff\"", 1)
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token()
			_, err := v.VerifyToken(context.Background(), token)
			requireRejected(t, err, tt.reason)
			if len(token) > 0 {
				assert.NotContains(t, err.Error(), token)
				assert.NotContains(t, err.Error(), "uid-1")
			}
		})
	}
}

func TestSignInProvider(t *testing.T) {
	iss, _ := newIssuer(t)
	v := verifier(t, iss)
	ctx := context.Background()
	_, err := v.WithSignInProvider("phone").VerifyToken(ctx, iss.EmailToken("uid-1", "a@example.com"))
	requireRejected(t, err, "sign_in_provider")
	_, err = v.WithSignInProvider("password").VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	requireRejected(t, err, "sign_in_provider")

	// sign_in_provider "phone" without a phone number.
	c := iss.Claims("uid-1")
	c["firebase"] = map[string]any{"sign_in_provider": "phone"}
	_, err = v.WithSignInProvider("phone").VerifyToken(ctx, iss.Token(c))
	requireRejected(t, err, "phone_number: missing")
	_, err = v.VerifyToken(ctx, iss.Token(c))
	assert.NoError(t, err, "the base verifier leaves the provider to the caller")
}

func TestClock(t *testing.T) {
	iss, clk := newIssuer(t)
	v := verifier(t, iss)
	ctx := context.Background()
	token := iss.PhoneToken("uid-1", phone)

	clk.Advance(time.Hour - time.Second)
	_, err := v.VerifyToken(ctx, token)
	require.NoError(t, err, "valid at exp-1s")
	clk.Advance(time.Second)
	_, err = v.VerifyToken(ctx, token)
	requireRejected(t, err, "exp: expired")
}

func TestLeeway(t *testing.T) {
	iss, clk := newIssuer(t)
	now := clk.Now().Unix()
	ctx := context.Background()
	at := func(iat, authTime int64) string {
		c := iss.Claims("uid-1")
		c["iat"], c["auth_time"] = iat, authTime
		return iss.Token(c)
	}
	v := verifier(t, iss)
	_, err := v.VerifyToken(ctx, at(now+60, now+60))
	assert.NoError(t, err, "iat and auth_time within the default 60s leeway")
	_, err = v.VerifyToken(ctx, at(now, now+61))
	requireRejected(t, err, "auth_time: in the future")

	strict, err := firebase.New(firebase.Config{ProjectID: project, Keys: iss.JWKS(), Now: clk.Now, Leeway: -1})
	require.NoError(t, err)
	_, err = strict.VerifyToken(ctx, at(now+1, now))
	requireRejected(t, err, "iat: in the future")
	_, err = strict.VerifyToken(ctx, at(now, now))
	assert.NoError(t, err)
}

func TestNew(t *testing.T) {
	iss, clk := newIssuer(t)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	weakJWKS := `{"keys":[{"kty":"RSA","kid":"w","n":"` +
		base64.RawURLEncoding.EncodeToString(weak.N.Bytes()) + `","e":"AQAB"}]}`
	x509, jwks := string(iss.KeysJSON()), string(iss.JWKS())
	tests := []struct {
		name string
		cfg  firebase.Config
	}{
		{"no project", firebase.Config{Keys: iss.JWKS()}},
		{"project with slash", firebase.Config{ProjectID: "a/b", Keys: iss.JWKS()}},
		{"garbage keys", firebase.Config{ProjectID: project, Keys: []byte("garbage")}},
		{"empty object", firebase.Config{ProjectID: project, Keys: []byte(`{}`)}},
		{"empty jwks", firebase.Config{ProjectID: project, Keys: []byte(`{"keys":[]}`)}},
		{"not PEM", firebase.Config{ProjectID: project, Keys: []byte(`{"k":"not pem"}`)}},
		{"weak key", firebase.Config{ProjectID: project, Keys: []byte(weakJWKS)}},
		{"duplicate kid", firebase.Config{ProjectID: project, Keys: []byte(x509[:len(x509)-1] + "," + x509[1:])}},
		{"duplicate jwks kid", firebase.Config{ProjectID: project, Keys: []byte(jwks[:len(jwks)-2] + "," + jwks[9:])}},
		{"bad keys url", firebase.Config{ProjectID: project, KeysURL: "ftp://example.com/keys"}},
		{"relative keys url", firebase.Config{ProjectID: project, KeysURL: "/keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := firebase.New(tt.cfg)
			assert.Error(t, err)
		})
	}

	// No keys at all: allowed, but every token is denied, and not as a rejection.
	v, err := firebase.New(firebase.Config{ProjectID: project, Now: clk.Now})
	require.NoError(t, err)
	_, err = v.VerifyToken(context.Background(), iss.PhoneToken("uid-1", phone))
	require.Error(t, err)
	assert.False(t, errors.Is(err, identity.ErrRejected))

	// A cancelled ctx denies.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = verifier(t, iss).VerifyToken(ctx, iss.PhoneToken("uid-1", phone))
	assert.ErrorIs(t, err, context.Canceled)
}

// TestRotate checks that tokens of a rotated-out key fail against a verifier given only the
// new keys, while a verifier made before the rotation keeps trusting the old key only.
func TestRotate(t *testing.T) {
	iss, _ := newIssuer(t)
	ctx := context.Background()
	before := verifier(t, iss)
	oldToken := iss.PhoneToken("uid-1", phone)
	oldKID := iss.KID()
	iss.Rotate()
	require.NotEqual(t, oldKID, iss.KID())
	after := verifier(t, iss)
	newToken := iss.PhoneToken("uid-1", phone)

	_, err := after.VerifyToken(ctx, oldToken)
	requireRejected(t, err, "unknown kid")
	_, err = after.VerifyToken(ctx, newToken)
	assert.NoError(t, err)
	_, err = before.VerifyToken(ctx, oldToken)
	assert.NoError(t, err)
	_, err = before.VerifyToken(ctx, newToken)
	requireRejected(t, err, "unknown kid")
}

// Package firebasetest is an offline Firebase ID token issuer for tests: it mints tokens as
// Firebase would, signed with an RSA-2048 key of its own, and gives verifiers and key sets
// (Google's x509 format, JWKS, an http.Handler) that trust it. Each issuer and each rotation
// gets a key no other issuer of the process has had: one of a set of published test keys
// (testkeys.pem) while they last, then a generated one. It is for tests only: its keys are
// public or never leave memory, and it panics rather than return errors.
package firebasetest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase"
)

// Issuer mints Firebase ID tokens for one project. It is safe for concurrent use, except that
// Now must be set before the Issuer is shared.
type Issuer struct {
	// Now is the issuer's clock, also used by the verifiers it makes; nil means time.Now.
	Now func() time.Time

	projectID string

	mu   sync.Mutex
	key  *rsa.PrivateKey
	kid  string
	cert []byte // DER, self-signed, for the x509 key format
}

// NewIssuer makes an offline Firebase token issuer for projectID with its own signing keys.
func NewIssuer(projectID string) *Issuer {
	i := &Issuer{projectID: projectID}
	i.Rotate()
	return i
}

// Rotate replaces the issuer's key and kid. Tokens signed before then fail against verifiers
// given only the new keys; verifiers made before keep trusting the old key only.
func (i *Issuer) Rotate() {
	key := newKey()
	id := make([]byte, 20)
	rand.Read(id)
	now := i.now()
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(id),
		Subject:      pkix.Name{CommonName: "securetoken.system.gserviceaccount.com"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("firebasetest: create certificate: " + err.Error())
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.key, i.kid, i.cert = key, hex.EncodeToString(id), cert
}

func (i *Issuer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

// ProjectID returns the issuer's project id.
func (i *Issuer) ProjectID() string { return i.projectID }

// KID returns the kid of the current key.
func (i *Issuer) KID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.kid
}

// PublicKey returns the current public key (for tests of forgeries such as HS256 keyed with
// the public key).
func (i *Issuer) PublicKey() *rsa.PublicKey {
	i.mu.Lock()
	defer i.mu.Unlock()
	return &i.key.PublicKey
}

// Verifier returns a verifier that trusts this issuer's current keys (given in Google's x509
// format), for the same project, with the issuer's clock. Its dynamic type is
// *firebase.Verifier.
func (i *Issuer) Verifier() identity.TokenVerifier {
	v, err := firebase.New(firebase.Config{ProjectID: i.projectID, Keys: i.KeysJSON(), Now: i.now})
	if err != nil {
		panic("firebasetest: " + err.Error())
	}
	return v
}

// KeysJSON returns the current key in Google's x509 format: {"kid": "PEM certificate"}.
func (i *Issuer) KeysJSON() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.cert})
	return mustJSON(map[string]string{i.kid: string(pemCert)})
}

// JWKS returns the current key as a JSON Web Key Set.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	pub := i.key.PublicKey
	return mustJSON(map[string]any{"keys": []map[string]string{{
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
		"kid": i.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// KeysHandler serves the current keys in Google's x509 format with
// "Cache-Control: public, max-age=3600", as Google does (for Config.KeysURL in tests with
// httptest).
func (i *Issuer) KeysHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(i.KeysJSON())
	})
}

// Claims returns a valid base claim set for uid, to change before signing with Token: iss,
// aud, sub and user_id, iat and auth_time now, exp an hour later, and firebase.sign_in_provider
// "custom". Times are whole Unix seconds (int64).
func (i *Issuer) Claims(uid string) map[string]any {
	now := i.now().Unix()
	return map[string]any{
		"iss":       firebase.IssuerPrefix + i.projectID,
		"aud":       i.projectID,
		"auth_time": now,
		"user_id":   uid,
		"sub":       uid,
		"iat":       now,
		"exp":       now + 3600,
		"firebase": map[string]any{
			"identities":       map[string]any{},
			"sign_in_provider": "custom",
		},
	}
}

// PhoneToken returns a valid ID token for uid signed in by phone: sign_in_provider "phone"
// and phone_number phone.
func (i *Issuer) PhoneToken(uid, phone string) string {
	c := i.Claims(uid)
	c["phone_number"] = phone
	c["firebase"] = map[string]any{
		"identities":       map[string]any{"phone": []string{phone}},
		"sign_in_provider": "phone",
	}
	return i.Token(c)
}

// EmailToken returns a valid ID token for uid signed in by email and password:
// sign_in_provider "password", email and email_verified true.
func (i *Issuer) EmailToken(uid, email string) string {
	c := i.Claims(uid)
	c["email"] = email
	c["email_verified"] = true
	c["firebase"] = map[string]any{
		"identities":       map[string]any{"email": []string{email}},
		"sign_in_provider": "password",
	}
	return i.Token(c)
}

// Token signs exactly these claims (nothing added), with the header
// {"alg":"RS256","kid":<current kid>,"typ":"JWT"}.
func (i *Issuer) Token(claims map[string]any) string {
	return i.SignRaw(map[string]any{"alg": "RS256", "kid": i.KID(), "typ": "JWT"}, claims)
}

// SignRaw signs claims under an arbitrary header with the current key, RS256, whatever the
// header says (for tests of alg and kid mutations).
func (i *Issuer) SignRaw(header, claims map[string]any) string {
	return i.SignJSON(mustJSON(header), mustJSON(claims))
}

// SignJSON signs the header and payload bytes as given (for tests of duplicate names, wrong
// types and malformed JSON) with the current key, RS256.
func (i *Issuer) SignJSON(header, payload []byte) string {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	i.mu.Lock()
	key := i.key
	i.mu.Unlock()
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		panic("firebasetest: sign: " + err.Error())
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// testKeysPEM holds pre-generated RSA-2048 keys (PKCS #8), so that making an issuer does not
// cost a key generation (50 to 500 ms of CPU: the firebase package's tests, run once per mutant
// by scripts/mutation.sh, make dozens).
//
//go:embed testkeys.pem
var testKeysPEM []byte

// keyPool hands out the keys of testkeys.pem, each once per process.
var keyPool struct {
	sync.Mutex
	keys   []*rsa.PrivateKey
	parsed bool
}

// newKey returns a signing key that no other Issuer of this process has had: the next key of
// testkeys.pem while they last, then a freshly generated one.
func newKey() *rsa.PrivateKey {
	keyPool.Lock()
	defer keyPool.Unlock()
	if !keyPool.parsed {
		keyPool.parsed = true
		for rest := testKeysPEM; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				panic("firebasetest: testkeys.pem: " + err.Error())
			}
			keyPool.keys = append(keyPool.keys, k.(*rsa.PrivateKey))
		}
	}
	if n := len(keyPool.keys); n > 0 {
		k := keyPool.keys[n-1]
		keyPool.keys = keyPool.keys[:n-1]
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("firebasetest: generate key: " + err.Error())
	}
	return k
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("firebasetest: " + err.Error())
	}
	return b
}

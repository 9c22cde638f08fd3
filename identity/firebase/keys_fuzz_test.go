package firebase

import (
	"testing"
)

// FuzzParseKeys (R6): the key-set parser never panics, and every key it accepts has a kid, a
// modulus of 2048 to 8192 bits and an odd exponent of at least 3.
func FuzzParseKeys(f *testing.F) {
	for _, s := range []string{
		`{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","kid":"k1"}]}`,
		`{"keys":[]}`,
		`{"k1":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}`,
		`{"":"x"}`,
		`{"keys":[{"kty":"RSA","kid":"a","n":"","e":""},{"kty":"RSA","kid":"a"}]}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseKeys(data)
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatal("an empty key set accepted")
		}
		for kid, pub := range keys {
			if kid == "" || pub == nil {
				t.Fatalf("key %q accepted", kid)
			}
			if bits := pub.N.BitLen(); bits < minKeyBits || bits > maxKeyBits || pub.E < 3 || pub.E%2 == 0 {
				t.Fatalf("key %q of %d bits, exponent %d, accepted", kid, bits, pub.E)
			}
		}
	})
}

package firebase

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Boundaries the other tests leave open (found by mutation testing, scripts/mutation.sh).

// jwk is a JWKS with one key of modulus n and exponent e (big-endian bytes).
func jwk(n, e []byte, use, alg string) []byte {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "use": use, "alg": alg, "n": enc(n), "e": enc(e),
	}}})
	return b
}

// modulus returns an odd number of exactly bits bits.
func modulus(bits int) []byte {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return n.Or(n, big.NewInt(1)).Bytes()
}

func TestKeyBoundaries(t *testing.T) {
	e3 := []byte{3}
	for _, tc := range []struct {
		name     string
		data     []byte
		accepted bool
	}{
		{"2048 bits", jwk(modulus(2048), e3, "sig", "RS256"), true},
		{"2047 bits", jwk(modulus(2047), e3, "sig", "RS256"), false},
		{"8192 bits", jwk(modulus(8192), e3, "sig", "RS256"), true},
		{"8193 bits", jwk(modulus(8193), e3, "sig", "RS256"), false},
		{"exponent 3", jwk(modulus(2048), e3, "", ""), true},
		{"exponent 1", jwk(modulus(2048), []byte{1}, "", ""), false},
		{"even exponent", jwk(modulus(2048), []byte{4}, "", ""), false},
		{"exponent 2^31-1", jwk(modulus(2048), []byte{0x7f, 0xff, 0xff, 0xff}, "", ""), true},
		{"exponent 2^31+1", jwk(modulus(2048), []byte{0x80, 0, 0, 1}, "", ""), false},
		{"exponent of 5 bytes", jwk(modulus(2048), []byte{0, 0, 1, 0, 1}, "", ""), false},
		{"use and alg unset", jwk(modulus(2048), []byte{1, 0, 1}, "", ""), true},
		{"use sig, alg unset", jwk(modulus(2048), []byte{1, 0, 1}, "sig", ""), true},
		{"use unset, alg RS256", jwk(modulus(2048), []byte{1, 0, 1}, "", "RS256"), true},
		{"encryption key", jwk(modulus(2048), []byte{1, 0, 1}, "enc", ""), false},
		{"RS512 key", jwk(modulus(2048), []byte{1, 0, 1}, "", "RS512"), false},
	} {
		keys, err := parseKeys(tc.data)
		if tc.accepted {
			if assert.NoError(t, err, tc.name) {
				assert.Len(t, keys, 1, tc.name)
			}
		} else {
			assert.Error(t, err, tc.name)
		}
	}
}

func TestTimeClaimBoundaries(t *testing.T) {
	for raw, ok := range map[string]bool{
		"0": true, "9": true, fmt.Sprint(maxUnix): true, fmt.Sprint(maxUnix + 1): false,
		"-1": false, ":": false, "/": false, "1.5": false, `"1"`: false,
	} {
		_, present, err := object{"exp": json.RawMessage(raw)}.time("exp")
		assert.True(t, present, raw)
		assert.Equal(t, ok, err == nil, "%s: %v", raw, err)
	}
}

func TestTokenSizeBoundary(t *testing.T) {
	v, err := New(Config{ProjectID: "demo-project"})
	require.NoError(t, err)
	_, err = v.VerifyToken(t.Context(), strings.Repeat("a", MaxTokenSize))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "too large", "a token of exactly the cap")
	_, err = v.VerifyToken(t.Context(), strings.Repeat("a", MaxTokenSize+1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "too large")
}

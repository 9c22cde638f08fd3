package passkey_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/require"
)

var b64 = base64.RawURLEncoding

// authenticator is a software passkey authenticator: one P-256 credential, a sign counter,
// and the origin it believes it is on.
type authenticator struct {
	key     *ecdsa.PrivateKey
	credID  []byte
	user    []byte
	counter uint32
	origin  string
	rpID    string
	noUV    bool // the user was present but not verified (no PIN or biometric)
}

func newAuthenticator(t *testing.T, origin, rpID string) *authenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &authenticator{key: k, credID: id, origin: origin, rpID: rpID}
}

type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func (a *authenticator) clientData(t *testing.T, typ, challenge string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	require.NoError(t, err)
	return b
}

func (a *authenticator) authData(attested bool) []byte {
	h := sha256.Sum256([]byte(a.rpID))
	out := append([]byte{}, h[:]...)
	flags := byte(0x01 | 0x04) // user present, user verified
	if a.noUV {
		flags = 0x01
	}
	if attested {
		flags |= 0x40
	}
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, a.counter)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		x, y := make([]byte, 32), make([]byte, 32)
		a.key.X.FillBytes(x)
		a.key.Y.FillBytes(y)
		cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		out = append(out, cose...)
	}
	return out
}

// create answers registration options as navigator.credentials.create would (toJSON).
func (a *authenticator) create(t *testing.T, opts []byte) []byte {
	var o options
	require.NoError(t, json.Unmarshal(opts, &o))
	u, err := b64.DecodeString(o.PublicKey.User.ID)
	require.NoError(t, err)
	a.user = u
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(true)})
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData(t, "webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
		},
	})
	require.NoError(t, err)
	return b
}

// get answers sign-in options as navigator.credentials.get would, counting up first.
func (a *authenticator) get(t *testing.T, opts []byte) []byte {
	var o options
	require.NoError(t, json.Unmarshal(opts, &o))
	a.counter++
	cd := a.clientData(t, "webauthn.get", o.PublicKey.Challenge)
	ad := a.authData(false)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.user),
		},
	})
	require.NoError(t, err)
	return b
}

package firebase_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity/firebase"
)

// The edges of the claim rules, each side of every bound, through VerifyToken (TestMutations
// has the plainly bad values; these were found missing by mutation testing, scripts/mutation.sh).

// TestSubjectBounds: sub is 1 to MaxSubjectLength characters (not bytes), none a control
// character (C0, DEL or C1).
func TestSubjectBounds(t *testing.T) {
	iss, _ := newIssuer(t)
	v := verifier(t, iss)
	for sub, ok := range map[string]bool{
		"a": true,
		strings.Repeat("é", firebase.MaxSubjectLength):   true,
		strings.Repeat("é", firebase.MaxSubjectLength+1): false,
		"a\x1f": false, "a\x20": true, "a\x7e": true, "a\x7f": false,
		"a\u0080": false, "a\u009f": false, "a\u00a0": true,
	} {
		c, err := v.VerifyToken(context.Background(), iss.Token(iss.Claims(sub)))
		if ok {
			if assert.NoError(t, err, "%q", sub) {
				assert.Equal(t, sub, c.Subject)
			}
		} else {
			requireRejected(t, err, "sub: empty, too long or invalid")
		}
	}
}

// TestPhoneBounds: phone_number is E.164, "+" then 1 to 15 digits, the first not 0.
func TestPhoneBounds(t *testing.T) {
	iss, _ := newIssuer(t)
	v := verifier(t, iss)
	for phone, ok := range map[string]bool{
		"+1": true, "+9": true, "+10": true, "+19": true, "+" + strings.Repeat("9", 15): true,
		"+": false, "+" + strings.Repeat("9", 16): false, "+0": false, "+:": false,
		"+1/": false, "+1:": false, "+1a": false,
	} {
		c := iss.Claims("uid-1")
		c["phone_number"] = phone
		got, err := v.VerifyToken(context.Background(), iss.Token(c))
		if ok {
			if assert.NoError(t, err, phone) {
				assert.Equal(t, phone, got.Phone)
			}
		} else {
			requireRejected(t, err, "phone_number: not E.164")
		}
	}
}

// TestPayloadDepth: the JSON of a payload nests at most 32 levels below the top object, in
// objects or in arrays (the top object is level 0).
func TestPayloadDepth(t *testing.T) {
	iss, _ := newIssuer(t)
	v := verifier(t, iss)
	nest := func(open, close string, levels int) string {
		return strings.Repeat(open, levels) + "1" + strings.Repeat(close, levels)
	}
	for name, tc := range map[string]struct {
		deep string // the value of a member of the top object: level 1
		ok   bool
	}{
		"objects 32":        {nest(`{"a":`, `}`, 31), true},
		"objects 33":        {nest(`{"a":`, `}`, 32), false},
		"arrays 32":         {nest(`[`, `]`, 31), true},
		"arrays 33":         {nest(`[`, `]`, 32), false},
		"arrays in objects": {nest(`{"a":[`, `]}`, 16), false},
	} {
		b, err := json.Marshal(iss.Claims("uid-1"))
		require.NoError(t, err)
		payload := `{"deep":` + tc.deep + `,` + string(b[1:])
		_, err = v.VerifyToken(context.Background(), iss.SignJSON([]byte(`{"alg":"RS256","kid":"`+iss.KID()+`"}`), []byte(payload)))
		if tc.ok {
			assert.NoError(t, err, name)
		} else {
			requireRejected(t, err, "payload: malformed JSON")
		}
	}
}

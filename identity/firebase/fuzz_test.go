package firebase_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase"
)

// FuzzVerifyToken feeds arbitrary tokens, and arbitrary headers and payloads signed with a
// trusted key, to a verifier: it must never panic, refuse with ErrRejected (its keys are
// static, so it can always say), and return only sane claims when it accepts.
func FuzzVerifyToken(f *testing.F) {
	iss, clk := newIssuer(f)
	v := verifier(f, iss)
	phoneOnly := v.WithSignInProvider("phone")
	kid := iss.KID()
	now := clk.Now()

	seed := func(token string) {
		parts := strings.Split(token, ".")
		h, _ := base64.RawURLEncoding.DecodeString(parts[0])
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		f.Add(token, h, p)
	}
	seed(iss.PhoneToken("uid-1", phone))
	seed(iss.EmailToken("uid-2", "ann@example.com"))
	seed(iss.Token(iss.Claims("uid-3")))
	hdr := []byte(`{"alg":"RS256","kid":"` + kid + `","typ":"JWT"}`)
	f.Add("", hdr, []byte(`{}`))
	f.Add("a.b.c", []byte(`{"alg":"none"}`), []byte(`{"sub":"a","sub":"b"}`))
	f.Add("..", []byte(`{"alg":"HS256","kid":"`+kid+`"}`), []byte(`[]`))
	f.Add("e30.e30.e30", hdr, []byte(`{"exp":1e99,"iat":-1,"sub":"\u0000"}`))
	f.Add("x.y.z.w", []byte(`{"alg":"RS256","alg":"RS256","kid":"`+kid+`"}`), []byte("\xff"))

	f.Fuzz(func(t *testing.T, token string, header, payload []byte) {
		ctx := context.Background()
		for _, tok := range []string{token, iss.SignJSON(header, payload)} {
			for i, ver := range []identity.TokenVerifier{v, phoneOnly} {
				c, err := ver.VerifyToken(ctx, tok)
				if err != nil {
					require.ErrorIs(t, err, identity.ErrRejected)
					if len(tok) >= 8 { // shorter strings may be in any message by chance
						require.NotContains(t, err.Error(), tok)
					}
					continue
				}
				require.NotEmpty(t, c.Subject)
				require.LessOrEqual(t, utf8.RuneCountInString(c.Subject), 128)
				require.True(t, c.Phone == "" || isE164(c.Phone), "phone %q", c.Phone)
				require.NotEmpty(t, c.SignInProvider)
				require.True(t, c.ExpiresAt.After(now), "expired token accepted")
				require.True(t, c.ExpiresAt.After(c.IssuedAt))
				require.False(t, c.IssuedAt.After(now.Add(firebase.DefaultLeeway)), "token from the future accepted")
				if i == 1 {
					require.Equal(t, "phone", c.SignInProvider)
					require.NotEmpty(t, c.Phone)
				}
			}
		}
	})
}

func isE164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

package canon

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// S10: compatibility characters fold with their plain spellings, in logins and in the local
// part of emails alike: a ligature, a superscript, a circled or mathematical letter, a
// full-width or half-width form, a Roman numeral is the same name as its letters, so a
// look-alike cannot register beside the original. A look-alike may also be refused outright;
// it may never be accepted as a different name.
func TestCompatibilityCollisions(t *testing.T) {
	login := func(s string) (string, bool) {
		_, c, err := Login(s)
		return c, err == nil
	}
	email := func(s string) (string, bool) {
		_, c, err := Email(s)
		return c, err == nil
	}
	accepted := 0
	same := func(f func(string) (string, bool), lookalike, plain string) {
		t.Helper()
		want, ok := f(plain)
		require.True(t, ok, plain)
		if got, ok := f(lookalike); ok {
			accepted++
			assert.Equal(t, want, got, "%q and %q", lookalike, plain)
		}
	}
	for _, pair := range [][2]string{
		{"\ufb00oo", "ffoo"},                           // ﬀ ligature
		{"\ufb01nance", "finance"},                     // ﬁ ligature
		{"o\ufb03ce", "OFFICE"},                        // ﬃ ligature
		{"user\u00b2", "user2"},                        // superscript two
		{"\u24b6dmin", "admin"},                        // circled A
		{"\U0001d41admin", "admin"},                    // mathematical bold a
		{"ｍｉｋｅ", "Mike"},                               // full-width
		{"\uff76\uff9e\uff76\uff9e1", "\u30ac\u30ac1"}, // half-width katakana with voiced mark
		{"king\u2163", "kingiv"},                       // Roman numeral four
		{"\u212bngstrom", "\u00e5ngstrom"},             // Angstrom sign
		{"\u212aelvin", "kelvin"},                      // Kelvin sign
	} {
		same(login, pair[0], pair[1])
		same(email, pair[0]+"@example.org", pair[1]+"@example.org")
	}
	assert.GreaterOrEqual(t, accepted, 10, "most look-alikes are valid names")
	// The collision the ligature makes, spelled out.
	a, _ := login("\ufb00oo")
	b, _ := login("ffoo")
	assert.Equal(t, "ffoo", a)
	assert.Equal(t, a, b)
}

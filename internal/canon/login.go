package canon

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Login length limits in code points, counted on the canonical form (S26).
const (
	minLoginLen = 3
	maxLoginLen = 64
	// maxLoginBytes caps the input before any normalisation work, so a huge
	// login costs nothing to refuse. 64 code points of at most 4 bytes each,
	// with room for combining marks that compose away under NFC.
	maxLoginBytes = 1024
)

const (
	loginLenReason     = "must be 3 to 64 characters"
	loginCharsetReason = "may contain only letters, digits and . _ - @ +"
	invisibleReason    = "must not contain invisible characters"
	loginScriptsReason = "must not mix letters of different scripts"
)

// Login validates a login and returns its display form and its canonical form
// (S10, S26).
//
// The display form is the NFC of s, otherwise unchanged; show it to people.
// The canonical form is width folded, case folded and NFKC, iterated to a
// fixed point; use it for uniqueness and look-ups, so "BigBird" and
// "ｂｉｇｂｉｒｄ" are the same account while "mıke" (dotless i) and "mike"
// are not. Login(canonical) returns canonical as both forms.
//
// A login is 3 to 64 code points once canonical, made only of letters
// (Unicode L, followed by any combining marks), decimal digits (Nd) and
// ". _ - @ +". Both forms are checked, the display form after width folding,
// so compatibility characters such as "①" or "™" that would turn into
// allowed characters are refused rather than silently rewritten.
//
// Look-alikes are refused (S35): default-ignorable code points (zero-width
// characters, variation selectors, Hangul fillers; see isDefaultIgnorable),
// and letters of more than one script unless UTS #39's "Highly Restrictive"
// level allows the mix: Latin with Han, Hiragana and Katakana (Japanese),
// with Han and Bopomofo (Chinese) or with Han and Hangul (Korean). So
// "аlice" (Cyrillic а) and "bοb" (Greek ο) are refused, "山田taro" is not.
//
// An empty s gives an *Error with Reason "is required"; callers for whom the
// login is optional check for "" before calling. Any failure is an *Error
// with Field "login".
func Login(s string) (display, canonical string, err error) {
	const field = "login"
	switch {
	case s == "":
		return "", "", fail(field, "is required")
	case len(s) > maxLoginBytes:
		return "", "", fail(field, loginLenReason)
	case !utf8.ValidString(s):
		return "", "", fail(field, "must be valid UTF-8")
	}
	display = norm.NFC.String(s)
	if hasDefaultIgnorable(display) {
		return "", "", fail(field, invisibleReason)
	}
	if !loginCharset(width.Fold.String(display)) {
		return "", "", fail(field, loginCharsetReason)
	}
	canonical, ok := fold(display)
	if !ok || !loginCharset(canonical) || hasDefaultIgnorable(canonical) {
		return "", "", fail(field, loginCharsetReason)
	}
	if mixesScripts(display) || mixesScripts(canonical) {
		return "", "", fail(field, loginScriptsReason)
	}
	if n := runeCount(canonical); n < minLoginLen || n > maxLoginLen {
		return "", "", fail(field, loginLenReason)
	}
	return display, canonical, nil
}

// loginCharset reports whether s holds only letters (each optionally followed
// by combining marks), decimal digits and the punctuation ". _ - @ +".
func loginCharset(s string) bool {
	afterLetter := false // previous rune was a letter or a mark attached to one
	for _, r := range s {
		switch {
		case unicode.IsLetter(r):
			afterLetter = true
		case isMark(r):
			if !afterLetter {
				return false
			}
		case unicode.IsDigit(r), strings.ContainsRune("._-@+", r):
			afterLetter = false
		default:
			return false
		}
	}
	return true
}

// Package canon validates user profile input and computes the canonical forms
// used for uniqueness and look-ups (S1, S2, S10, S20, S26).
//
// Every function is pure: it does no I/O, keeps no state between calls and is
// safe for concurrent use. Hostile input gets an error, never a panic. Errors
// are always of type *[Error], returned as error.
package canon

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Error says which profile field is wrong and why. It is the only error type
// the package returns; match it with errors.As.
type Error struct {
	// Field is the REST name of the field: "login", "email", "phone",
	// "website", "full_name", "external_id", "custom_data", "user_tags" or
	// "password".
	Field string
	// Reason is lower case, has no final period, never quotes the input and
	// is safe to show an end user, e.g. "must be 3 to 64 characters".
	Reason string
}

// Error returns the field and reason joined by a colon, e.g.
// "login: must be 3 to 64 characters".
func (e *Error) Error() string {
	return e.Field + ": " + e.Reason
}

// fail builds the error every validator returns; functions return error, never
// *Error, so a nil result is a true nil interface.
func fail(field, reason string) error {
	return &Error{Field: field, Reason: reason}
}

// maxFoldRounds bounds the fixed-point iteration in fold. Case folding and
// NFKC do not commute, so one pass is not always idempotent; two or three
// passes reach the fixed point for every known input.
const maxFoldRounds = 6

// fold returns the caseless, compatibility-normalised form of s: width
// folded, case folded (full Unicode folding, so U+0131 dotless i stays
// distinct from i) and NFKC, repeated until it no longer changes. It reports
// false when no fixed point is reached within maxFoldRounds, which callers
// treat as invalid input. s must be valid UTF-8.
func fold(s string) (string, bool) {
	if f, ok := foldASCII(s); ok {
		return f, true
	}
	return foldUnicode(s)
}

// foldASCII is fold of an ASCII string, which most logins and emails are, without the
// transformers' cost: on ASCII, width folding and NFKC change nothing and full case folding
// maps only A-Z (CaseFolding.txt), so the fixed point is the string with A-Z lowered. ok is
// false, and the caller folds the long way, when s holds any other byte.
func foldASCII(s string) (f string, ok bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return "", false
		}
		upper = upper || ('A' <= c && c <= 'Z')
	}
	if !upper {
		return s, true
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b), true
}

// foldUnicode is fold the long way, for any valid UTF-8.
func foldUnicode(s string) (string, bool) {
	// A Caser is stateful, so each call gets its own: this keeps fold safe
	// for concurrent use.
	c := cases.Fold()
	for range maxFoldRounds {
		t := norm.NFKC.String(c.String(width.Fold.String(s)))
		if t == s {
			return s, true
		}
		s = t
	}
	return s, false
}

// isBidiControl reports the explicit directional formatting characters that
// can reorder displayed text (Trojan Source style spoofing).
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069, // LRI, RLI, FSI, PDI
		r == 0x200E, r == 0x200F,   // LRM, RLM
		r == 0x061C: // ALM
		return true
	}
	return false
}

// isMark reports a combining mark (general category M).
func isMark(r rune) bool {
	return unicode.In(r, unicode.M)
}

// runeCount counts code points; s must be valid UTF-8.
func runeCount(s string) int {
	return utf8.RuneCountInString(s)
}

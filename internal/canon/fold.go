package canon

import "unicode/utf8"

// Fold returns the caseless form that Login and the local part of Email canonicalise with, for
// values that are not whole logins (search terms, prefixes). Invalid UTF-8 is replaced, and an
// input that never settles is returned as far as it got: Fold never fails.
func Fold(s string) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // replaces invalid bytes with U+FFFD
	}
	f, _ := fold(s)
	return f
}

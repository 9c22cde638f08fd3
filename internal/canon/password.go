package canon

import (
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPasswordLen is the longest local password, in code points (S1). Inputs
// of more than 4*MaxPasswordLen bytes are refused before any other work.
const MaxPasswordLen = 128

// Password checks a local password and returns the form to hash (S1, S2).
//
// The password is never trimmed or truncated and may hold any Unicode; the
// only rewrite is NFC, so "é" typed precomposed or decomposed hashes the
// same. Its length, in code points after NFC, must be at least minLen
// (values below 1 count as 1) and at most [MaxPasswordLen]. An input longer
// than 4*MaxPasswordLen bytes is refused first, so a 1 MiB password costs
// nothing, and invalid UTF-8 is refused. Failures are an *Error with Field
// "password" and Reason "is required", "must be at least N characters",
// "must be at most 128 characters" or "must be valid UTF-8"; they never
// include the password.
func Password(s string, minLen int) (string, error) {
	const field = "password"
	const maxReason = "must be at most 128 characters"
	minLen = max(minLen, 1)
	switch {
	case s == "":
		return "", fail(field, "is required")
	case len(s) > 4*MaxPasswordLen:
		return "", fail(field, maxReason)
	case !utf8.ValidString(s):
		return "", fail(field, "must be valid UTF-8")
	}
	s = norm.NFC.String(s)
	switch n := runeCount(s); {
	case n < minLen:
		return "", fail(field, "must be at least "+strconv.Itoa(minLen)+" characters")
	case n > MaxPasswordLen:
		return "", fail(field, maxReason)
	}
	return s, nil
}

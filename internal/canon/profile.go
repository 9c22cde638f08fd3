package canon

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits for the free-form profile fields (S26).
const (
	// MaxTags is the most tags a user may have.
	MaxTags = 32
	// MaxCustomData is the largest custom_data value, in bytes (64 KiB).
	MaxCustomData = 64 << 10

	maxTagLen   = 64   // code points, after normalisation
	maxTagBytes = 1024 // input cap per tag, before any work

	minPhoneDigits = 5
	maxPhoneDigits = 15 // E.164

	maxWebsiteBytes = 2048
	maxFullNameLen  = 255      // code points
	maxFullNameIn   = 4 * 1024 // input cap in bytes, before any work
	maxExternalID   = 255      // bytes
)

// Phone returns the normal form of a phone number: an optional leading "+"
// and 5 to 15 ASCII digits, once spaces, dashes, dots and parentheses are
// removed, so "+44 (20) 7946-0958" becomes "+442079460958". Phones are
// stored and looked up in this form. An empty s returns "", nil, as the field
// is optional. Letters, a "+" after a digit, non-ASCII digits or a wrong digit
// count give an *Error with Field "phone".
func Phone(s string) (string, error) {
	const field = "phone"
	if s == "" {
		return "", nil
	}
	var buf [1 + maxPhoneDigits]byte
	out := buf[:0]
	plus, digits := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			if digits == maxPhoneDigits {
				return "", fail(field, "must have 5 to 15 digits")
			}
			digits++
			out = append(out, c)
		case c == '+' && !plus && digits == 0:
			plus = true
			out = append(out, c)
		case c == '+':
			return "", fail(field, "may have a + only at the start")
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", fail(field, "may contain only digits, spaces, dashes, dots, parentheses and a leading +")
		}
	}
	if digits < minPhoneDigits {
		return "", fail(field, "must have 5 to 15 digits")
	}
	return string(out), nil
}

// Tags validates and normalises a tag list. Each tag is trimmed of
// surrounding white space, then width folded, case folded and NFKC (to a
// fixed point, as [Login]), and must then be 1 to 64 code points of letters,
// decimal digits, combining marks (after a letter or digit), "_", "-", "."
// and single inner spaces; commas are refused because tag_list travels as a
// comma-separated string. Duplicates (after normalisation) are dropped,
// keeping the first. More than [MaxTags] tags in the input are refused before
// any other work. A nil or empty list returns nil, nil. Failures are an
// *Error with Field "user_tags" (the one name of the tags in errors, as in
// queries) whose reason names the tag by its 1-based position, never by its
// text.
func Tags(tags []string) ([]string, error) {
	const field = "user_tags"
	if len(tags) == 0 {
		return nil, nil
	}
	if len(tags) > MaxTags {
		return nil, fail(field, "must have at most "+strconv.Itoa(MaxTags)+" tags")
	}
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		c, reason := tag(t)
		if reason != "" {
			return nil, fail(field, "tag "+strconv.Itoa(i+1)+": "+reason)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// tag normalises one tag and returns it, or a reason.
func tag(t string) (string, string) {
	const lenReason = "must be 1 to 64 characters"
	if len(t) > maxTagBytes {
		return "", lenReason
	}
	if !utf8.ValidString(t) {
		return "", "must be valid UTF-8"
	}
	t = strings.TrimSpace(t)
	if t == "" {
		return "", "must not be empty"
	}
	c, ok := fold(t)
	if !ok {
		return "", tagCharsetReason
	}
	if strings.ContainsRune(c, ',') {
		return "", "must not contain commas"
	}
	if !tagCharset(c) {
		return "", tagCharsetReason
	}
	if n := runeCount(c); n < 1 || n > maxTagLen {
		return "", lenReason
	}
	return c, ""
}

const tagCharsetReason = "may contain only letters, digits, single spaces, dots, dashes and underscores"

// tagCharset reports whether s holds only letters, decimal digits, marks
// attached to them, "_-." and single spaces between other characters.
func tagCharset(s string) bool {
	prev := ' ' // as if preceded by a space: no leading space or mark
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), strings.ContainsRune("_-.", r):
		case isMark(r):
			if !unicode.IsLetter(prev) && !unicode.IsDigit(prev) && !isMark(prev) {
				return false
			}
		case r == ' ':
			if prev == ' ' {
				return false
			}
		default:
			return false
		}
		prev = r
	}
	return prev != ' '
}

// Website validates a website URL. An empty s returns "", nil. Otherwise s
// must be at most 2048 bytes of valid UTF-8 without control characters,
// white space or bidi controls, parse with net/url, use the http or https
// scheme (so javascript: and data: links never reach a profile page), name a
// host and carry no user info ("user:pass@" hides the real host from
// readers). The result is s with the scheme lower-cased and nothing else
// changed. Failures are an *Error with Field "website".
func Website(s string) (string, error) {
	const field = "website"
	switch {
	case s == "":
		return "", nil
	case len(s) > maxWebsiteBytes:
		return "", fail(field, "must be at most 2048 characters")
	case !utf8.ValidString(s):
		return "", fail(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || isBidiControl(r) {
			return "", fail(field, "must not contain spaces or control characters")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fail(field, "must be a valid URL")
	}
	n := len(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || len(s) <= n || s[n] != ':' {
		return "", fail(field, "must start with http:// or https://")
	}
	if u.User != nil {
		return "", fail(field, "must not contain a user name or password")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return "", fail(field, "must include a host name")
	}
	return strings.ToLower(s[:n]) + s[n:], nil
}

// FullName validates a full name and returns it in NFC with surrounding white
// space trimmed. An empty (or all white space) s returns "", nil. The name
// must be valid UTF-8 and at most 255 code points, without control
// characters (Cc), line or paragraph separators, or bidi controls and
// overrides (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C), which
// could make a name display as something else, and without other
// default-ignorable code points (zero-width spaces and joiners, soft hyphens,
// Hangul fillers...: invisible, so "Ann" could hide a second "Ann", S35),
// except the emoji selectors and joiners emojiJoiner allows. Failures are an
// *Error with Field "full_name".
func FullName(s string) (string, error) {
	const field = "full_name"
	const lenReason = "must be at most 255 characters"
	switch {
	case s == "":
		return "", nil
	case len(s) > maxFullNameIn:
		return "", fail(field, lenReason)
	case !utf8.ValidString(s):
		return "", fail(field, "must be valid UTF-8")
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	var prev rune // the rune before r; none yet is 0, which emojiJoiner never takes for a symbol
	for i, r := range s {
		switch {
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return "", fail(field, "must not contain control characters")
		case isBidiControl(r):
			return "", fail(field, "must not contain text direction controls")
		case isDefaultIgnorable(r) && !emojiJoiner(prev, r, s[i+utf8.RuneLen(r):]):
			return "", fail(field, invisibleReason)
		}
		prev = r
	}
	if runeCount(s) > maxFullNameLen {
		return "", fail(field, lenReason)
	}
	return s, nil
}

// ExternalID validates an external id (profile data the user may edit, never
// an identity: S22) and returns it unchanged. An empty s returns "", nil.
// Otherwise it must be at most 255 bytes of valid UTF-8, with no control
// characters and no white space at either end. Failures are an *Error with
// Field "external_id".
func ExternalID(s string) (string, error) {
	const field = "external_id"
	switch {
	case s == "":
		return "", nil
	case len(s) > maxExternalID:
		return "", fail(field, "must be at most 255 bytes")
	case !utf8.ValidString(s):
		return "", fail(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fail(field, "must not contain control characters")
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "", fail(field, "must not start or end with white space")
	}
	return s, nil
}

// CustomData validates the opaque custom_data field and returns it
// unchanged: at most [MaxCustomData] bytes of valid UTF-8 without NUL. An
// empty s is valid. Failures are an *Error with Field "custom_data".
func CustomData(s string) (string, error) {
	const field = "custom_data"
	switch {
	case len(s) > MaxCustomData:
		return "", fail(field, "must be at most 64 KiB")
	case !utf8.ValidString(s):
		return "", fail(field, "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return "", fail(field, "must not contain NUL characters")
	}
	return s, nil
}

// emojiJoiner reports the default-ignorable code points that full names keep because emoji
// need them: a presentation selector (U+FE0E, U+FE0F) after a symbol, and a zero-width joiner
// between a symbol (or its selector) and the next symbol, as in family and profession emoji.
// Between letters they stay refused (S35).
func emojiJoiner(prev, r rune, rest string) bool {
	isSym := func(r rune) bool { return unicode.In(r, unicode.So, unicode.Sk) }
	switch r {
	case '\uFE0E', '\uFE0F':
		return isSym(prev)
	case '\u200D':
		next, _ := utf8.DecodeRuneInString(rest)
		return (isSym(prev) || prev == '\uFE0F') && unicode.Is(unicode.So, next)
	}
	return false
}

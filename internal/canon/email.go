package canon

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

// Email limits in bytes (RFC 5321 section 4.5.3.1 and RFC 3696 erratum 1690).
const (
	maxEmailBytes = 254
	maxLocalBytes = 64
)

// idnaProfile converts email domains to ASCII: the UTS 46 lookup mapping
// (case, width and compatibility folding), non-transitional so "ß" stays
// itself, STD3 ASCII rules, the Bidi and ContextJ rules and DNS length checks.
// Hyphens in the third and fourth position are allowed, as real domains use
// them; the leading and trailing hyphen rule is checked separately. A Profile
// is immutable and safe for concurrent use.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.CheckHyphens(false),
	idna.CheckJoiners(true),
)

const (
	emailLenReason    = "must be at most 254 characters"
	localCharsReason  = "name before @ contains characters that are not allowed"
	localDotsReason   = "name before @ must not start or end with a dot or have two dots in a row"
	localLenReason    = "name before @ must be 1 to 64 characters"
	domainReason      = "domain is not valid"
	domainLabelReason = "domain must have at least two parts, like example.org"
)

// Email validates one addr-spec and returns its display and canonical forms
// (S10, S20, S26).
//
// s must be a bare address: at most 254 bytes, exactly one "@", no display
// name, angle brackets, quotes, spaces, control characters, commas or
// semicolons, so a value can never smuggle a second recipient or a header
// into a mail. The local part is a dot-atom of 1 to 64 bytes: ASCII atext and
// non-ASCII letters (with their combining marks), no leading, trailing or
// doubled dots. The domain goes through IDNA (lookup mapping) to ASCII and
// must have at least two labels of 1 to 63 characters of [a-z0-9-], none
// starting or ending with "-", and a top-level label that is not all digits.
//
// The display form is s in NFC with the domain lower-cased by full Unicode
// lower-casing (a Unicode domain stays Unicode, as typed). Should that name
// another domain under IDNA (a capital final sigma does), the domain is shown
// as the Unicode form of its ASCII form instead, so the display and canonical
// forms always name the same mailbox.
//
// The canonical form is the local part case folded and NFKC (to a fixed
// point), "@", and the lower-case ASCII (punycode) domain: "Mike@Example.ORG"
// and "mike@example.org" share it, "mıke@example.org" (dotless i) does not,
// and Email(canonical) returns canonical as both forms. Both forms are at
// most 254 bytes.
//
// Any failure is an *Error with Field "email".
func Email(s string) (display, canonical string, err error) {
	const field = "email"
	if reason := emailShape(s); reason != "" {
		return "", "", fail(field, reason)
	}
	at := strings.IndexByte(s, '@')
	local := norm.NFC.String(s[:at])
	domain := norm.NFC.String(s[at+1:])

	if reason := checkLocal(local); reason != "" {
		return "", "", fail(field, reason)
	}
	canonLocal, ok := fold(local)
	if !ok {
		return "", "", fail(field, localCharsReason)
	}
	if reason := checkLocal(canonLocal); reason != "" {
		return "", "", fail(field, reason)
	}

	ascii, reason := asciiDomain(domain)
	if reason != "" {
		return "", "", fail(field, reason)
	}

	display = local + "@" + displayDomain(domain, ascii)
	canonical = canonLocal + "@" + ascii
	if len(display) > maxEmailBytes || len(canonical) > maxEmailBytes {
		return "", "", fail(field, emailLenReason)
	}
	return display, canonical, nil
}

// emailShape runs the cheap whole-string checks and returns a reason, or ""
// when s has the shape of a single bare address.
func emailShape(s string) string {
	switch {
	case s == "":
		return "is required"
	case len(s) > maxEmailBytes:
		return emailLenReason
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	}
	// Worst first: line breaks and controls (header injection), then
	// anything that makes a list or a display name.
	var ctl, angle, list, quote, space bool
	ats := 0
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isBidiControl(r):
			ctl = true
		case r == '<' || r == '>':
			angle = true
		case r == ',' || r == ';':
			list = true
		case unicode.IsSpace(r):
			space = true
		case r == '"':
			quote = true
		case r == '@':
			ats++
		}
	}
	switch {
	case ctl:
		return "must not contain control characters"
	case angle:
		return "must be a bare address without a display name or angle brackets"
	case list:
		return "must be a single address"
	case quote:
		return "must not use a quoted name before @"
	case space:
		return "must not contain spaces"
	case ats == 0:
		return "must have the form name@domain"
	case ats > 1:
		return "must contain exactly one @"
	}
	return ""
}

// checkLocal validates a dot-atom local part and returns a reason, or "".
func checkLocal(local string) string {
	if len(local) == 0 || len(local) > maxLocalBytes {
		return localLenReason
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return localDotsReason
	}
	afterLetter := false
	for _, r := range local {
		switch {
		case isDefaultIgnorable(r): // S35: invisible, so look-alike mailboxes
			return invisibleReason
		case r < utf8.RuneSelf:
			if !isAtext(byte(r)) && r != '.' {
				return localCharsReason
			}
			afterLetter = unicode.IsLetter(r)
		case unicode.IsLetter(r):
			afterLetter = true
		case isMark(r) && afterLetter:
		default:
			return localCharsReason
		}
	}
	return ""
}

// isAtext reports RFC 5322 atext: ALPHA, DIGIT and the specials below.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// asciiDomain converts domain to lower-case ASCII with IDNA and checks the
// label rules. It returns the ASCII form, or a reason.
func asciiDomain(domain string) (string, string) {
	if domain == "" {
		return "", domainReason
	}
	ascii, err := idnaProfile.ToASCII(domain)
	if err != nil {
		return "", domainReason
	}
	ascii = strings.ToLower(ascii)
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return "", domainLabelReason
	}
	for _, l := range labels {
		if !ldhLabel(l) {
			return "", domainReason
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", domainReason
	}
	// The canonical form must survive another pass unchanged (idempotence);
	// refuse the rare domain whose ASCII form IDNA would rewrite again.
	if again, err := idnaProfile.ToASCII(ascii); err != nil || again != ascii {
		return "", domainReason
	}
	return ascii, ""
}

// displayDomain lower-cases domain for display, keeping it as typed
// otherwise, and makes sure it still names the domain whose ASCII form is
// ascii. Simple lower-casing can change the domain: strings.ToLower maps
// U+0130 to "i", while IDNA maps it to "i" U+0307, another domain. So it
// uses full Unicode lower-casing and, should IDNA still disagree, falls back
// to the Unicode form of ascii.
func displayDomain(domain, ascii string) string {
	lower := norm.NFC.String(cases.Lower(language.Und).String(domain))
	if a, err := idnaProfile.ToASCII(lower); err == nil && strings.ToLower(a) == ascii {
		return lower
	}
	if u, err := idnaProfile.ToUnicode(ascii); err == nil {
		return u
	}
	return ascii
}

// ldhLabel reports a DNS label of 1 to 63 of [a-z0-9-] that does not start or
// end with "-".
func ldhLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

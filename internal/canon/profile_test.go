package canon

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validCase is one row of a table for a validator returning (string, error):
// reason "" means valid with output want.
type validCase struct {
	name, in, want, reason string
}

func runTable(t *testing.T, field string, fn func(string) (string, error), tests []validCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fn(tt.in)
			if tt.reason != "" {
				requireReason(t, err, field, tt.reason)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := fn(got)
			require.NoError(t, err, "output re-validates")
			assert.Equal(t, got, again, "output is a fixed point")
		})
	}
}

func TestPhone(t *testing.T) {
	const digitsR = "must have 5 to 15 digits"
	const charsR = "may contain only digits, spaces, dashes, dots, parentheses and a leading +"
	const plusR = "may have a + only at the start"
	runTable(t, "phone", Phone, []validCase{
		{"empty is optional", "", "", ""},
		{"seed example", "47802323143", "47802323143", ""},
		{"formatted", "+44 (27) 123-314.5", "+44271233145", ""},
		{"plus inside parentheses", "(+44) 20 7946 0958", "+442079460958", ""},
		{"5 digits", "12345", "12345", ""},
		{"15 digits", "123456789012345", "123456789012345", ""},
		{"plus and 15 digits", "+123456789012345", "+123456789012345", ""},
		{"plus only", "+", "", digitsR},
		{"4 digits", "1234", "", digitsR},
		{"plus and 4 digits", "+1234", "", digitsR},
		{"separators only", " -.() ", "", digitsR},
		{"16 digits", "1234567890123456", "", digitsR},
		{"16 digits with plus", "+1234567890123456", "", digitsR},
		{"1 MiB of digits", strings.Repeat("1", 1<<20), "", digitsR},
		{"letters", "12ab5", "", charsR},
		{"arabic-indic digits", "١٢٣٤٥", "", charsR},
		{"fullwidth digits", "１２３４５", "", charsR},
		{"tab", "123\t45", "", charsR},
		{"newline", "12345\n", "", charsR},
		{"slash", "123/45", "", charsR},
		{"plus after digit", "1+2345", "", plusR},
		{"double plus", "++12345", "", plusR},
		{"invalid utf8", "12345\xff", "", charsR},
	})
}

func TestTags(t *testing.T) {
	const charR = tagCharsetReason
	many := func(n int) []string {
		tags := make([]string, n)
		for i := range tags {
			tags[i] = "t" + strconv.Itoa(i)
		}
		return tags
	}
	tests := []struct {
		name   string
		in     []string
		want   []string
		reason string
	}{
		{"nil", nil, nil, ""},
		{"empty list", []string{}, nil, ""},
		{"folded and de-duplicated", []string{"Go", "go", " GO ", "ＧＯ"}, []string{"go"}, ""},
		{"first seen order", []string{"b", "a", "B", "c", "A"}, []string{"b", "a", "c"}, ""},
		{"sharp s", []string{"Straße", "strasse"}, []string{"strasse"}, ""},
		{"inner single space", []string{" Two Words\t"}, []string{"two words"}, ""},
		{"punctuation", []string{"v1.2_beta-3"}, []string{"v1.2_beta-3"}, ""},
		{"cjk and marks", []string{"日本語", "e\u0301t\u00e9"}, []string{"日本語", "\u00e9t\u00e9"}, ""},
		{"64 characters", []string{strings.Repeat("x", 64)}, []string{strings.Repeat("x", 64)}, ""},
		{"32 tags", many(MaxTags), many(MaxTags), ""},
		{"33 tags", many(MaxTags + 1), nil, "must have at most 32 tags"},
		{"65 characters", []string{"ok", strings.Repeat("x", 65)}, nil, "tag 2: must be 1 to 64 characters"},
		{"1 MiB tag", []string{strings.Repeat("x", 1<<20)}, nil, "tag 1: must be 1 to 64 characters"},
		{"comma", []string{"a,b"}, nil, "tag 1: must not contain commas"},
		{"fullwidth comma", []string{"ok", "a，b"}, nil, "tag 2: must not contain commas"},
		{"empty tag", []string{"a", ""}, nil, "tag 2: must not be empty"},
		{"blank tag", []string{"   "}, nil, "tag 1: must not be empty"},
		{"double space", []string{"two  words"}, nil, "tag 1: " + charR},
		{"tab inside", []string{"two\twords"}, nil, "tag 1: " + charR},
		{"newline inside", []string{"two\nwords"}, nil, "tag 1: " + charR},
		{"plus", []string{"c++"}, nil, "tag 1: " + charR},
		{"hash", []string{"#go"}, nil, "tag 1: " + charR},
		{"emoji", []string{"😀"}, nil, "tag 1: " + charR},
		{"mark at start", []string{"\u0301a"}, nil, "tag 1: " + charR},
		{"mark after space", []string{"a \u0301b"}, nil, "tag 1: " + charR},
		{"spacing diaeresis", []string{"a\u00a8"}, nil, "tag 1: " + charR},
		{"bidi override", []string{"a\u202eb"}, nil, "tag 1: " + charR},
		{"invalid utf8", []string{"a\xff"}, nil, "tag 1: must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tags(tt.in)
			if tt.reason != "" {
				requireReason(t, err, "user_tags", tt.reason)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := Tags(got)
			require.NoError(t, err)
			assert.Equal(t, got, again)
		})
	}
}

func TestWebsite(t *testing.T) {
	const schemeR = "must start with http:// or https://"
	const hostR = "must include a host name"
	const userR = "must not contain a user name or password"
	const spaceR = "must not contain spaces or control characters"
	long := "https://example.org/" + strings.Repeat("a", 2048-len("https://example.org/"))
	runTable(t, "website", Website, []validCase{
		{"empty is optional", "", "", ""},
		{"https", "https://example.org/path?q=1#frag", "https://example.org/path?q=1#frag", ""},
		{"http", "http://example.org", "http://example.org", ""},
		{"scheme lower-cased only", "HTTP://Example.ORG/A", "http://Example.ORG/A", ""},
		{"mixed case https", "HtTpS://example.org", "https://example.org", ""},
		{"port and ipv6", "https://[::1]:8443/", "https://[::1]:8443/", ""},
		{"unicode host", "https://bücher.example/", "https://bücher.example/", ""},
		{"2048 bytes", long, long, ""},
		{"2049 bytes", long + "a", "", "must be at most 2048 characters"},
		{"javascript", "javascript:alert(1)", "", schemeR},
		{"javascript with slashes", "javascript://example.org/%0Aalert(1)", "", schemeR},
		{"data", "data:text/html,<script>alert(1)</script>", "", schemeR},
		{"ftp", "ftp://example.org/file", "", schemeR},
		{"no scheme", "example.org", "", schemeR},
		{"scheme relative", "//example.org", "", schemeR},
		{"no host", "http://", "", hostR},
		{"triple slash", "http:///path", "", hostR},
		{"opaque", "http:example.org", "", hostR},
		{"port only", "http://:80/", "", hostR},
		{"user info", "http://user:pass@example.org", "", userR},
		{"user only", "https://user@example.org", "", userR},
		{"empty user info", "https://@example.org", "", userR},
		{"space", "http://example.org/a b", "", spaceR},
		{"leading space", " http://example.org", "", spaceR},
		{"newline", "http://example.org/\n", "", spaceR},
		{"nul", "http://example.org/\x00", "", spaceR},
		{"bidi override", "http://example.org/\u202e", "", spaceR},
		{"bad port", "http://example.org:port/", "", "must be a valid URL"},
		{"invalid utf8", "http://example.org/\xff", "", "must be valid UTF-8"},
	})
}

func TestFullName(t *testing.T) {
	const ctlR = "must not contain control characters"
	const bidiR = "must not contain text direction controls"
	const lenR = "must be at most 255 characters"
	tests := []validCase{
		{"empty is optional", "", "", ""},
		{"blank is empty", " \t\n ", "", ""},
		{"plain", "Ada Lovelace", "Ada Lovelace", ""},
		{"trimmed", "  Ada Lovelace \n", "Ada Lovelace", ""},
		{"nfc", "Jose\u0301 Mari\u0301a", "Jos\u00e9 Mar\u00eda", ""},
		{"joiner kept", "👩\u200d💻 dev", "👩\u200d💻 dev", ""},
		{"255 ascii", strings.Repeat("a", 255), strings.Repeat("a", 255), ""},
		{"255 cjk", strings.Repeat("山", 255), strings.Repeat("山", 255), ""},
		{"256 ascii", strings.Repeat("a", 256), "", lenR},
		{"256 cjk", strings.Repeat("山", 256), "", lenR},
		{"1 MiB", strings.Repeat("a", 1<<20), "", lenR},
		{"nul", "Ada\x00Lovelace", "", ctlR},
		{"newline inside", "Ada\nLovelace", "", ctlR},
		{"delete", "Ada\x7f", "", ctlR},
		{"c1 control", "Ada\u0085Lovelace", "", ctlR},
		{"line separator inside", "Ada\u2028Lovelace", "", ctlR},
		{"invalid utf8", "Ada\xff", "", "must be valid UTF-8"},
		// S35: invisible characters; emoji keep their selectors and joiners.
		{"zero width space", "Ada\u200bLovelace", "", invisibleReason},
		{"zero width joiner between letters", "Ad\u200da", "", invisibleReason},
		{"zero width non-joiner", "Ada\u200cLovelace", "", invisibleReason},
		{"word joiner", "Ada\u2060", "", invisibleReason},
		{"soft hyphen", "Love\u00adlace", "", invisibleReason},
		{"byte order mark", "\ufeffAda", "", invisibleReason},
		{"hangul filler", "Ada \u3164", "", invisibleReason},
		{"variation selector after a letter", "Ada\ufe0f", "", invisibleReason},
		{"joiner before a letter", "👩\u200da", "", invisibleReason},
		{"emoji presentation", "Ada \u2764\ufe0f", "Ada \u2764\ufe0f", ""},
		{"flag sequence", "🏳\ufe0f\u200d🌈 Ada", "🏳\ufe0f\u200d🌈 Ada", ""},
		{"skin tone and joiner", "👩🏽\u200d💻 Ada", "👩🏽\u200d💻 Ada", ""},
	}
	for _, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C} {
		tests = append(tests, validCase{"bidi " + strconv.QuoteRune(r), "Ada" + string(r) + "ecalevoL", "", bidiR})
	}
	runTable(t, "full_name", FullName, tests)
}

func TestExternalID(t *testing.T) {
	const ctlR = "must not contain control characters"
	const spaceR = "must not start or end with white space"
	runTable(t, "external_id", ExternalID, []validCase{
		{"empty is optional", "", "", ""},
		{"plain", "crm-12345", "crm-12345", ""},
		{"inner space", "acme 42", "acme 42", ""},
		{"unicode", "客户-42", "客户-42", ""},
		{"255 bytes", strings.Repeat("x", 255), strings.Repeat("x", 255), ""},
		{"256 bytes", strings.Repeat("x", 256), "", "must be at most 255 bytes"},
		{"leading space", " x", "", spaceR},
		{"trailing space", "x ", "", spaceR},
		{"trailing nbsp", "x\u00a0", "", spaceR},
		{"control", "a\x01b", "", ctlR},
		{"newline", "ab\n", "", ctlR},
		{"invalid utf8", "a\xff", "", "must be valid UTF-8"},
	})
}

func TestCustomData(t *testing.T) {
	full := strings.Repeat("x", MaxCustomData)
	runTable(t, "custom_data", CustomData, []validCase{
		{"empty", "", "", ""},
		{"json", `{"a":1,"b":"ü"}`, `{"a":1,"b":"ü"}`, ""},
		{"control characters kept", "a\tb\nc", "a\tb\nc", ""},
		{"64 KiB", full, full, ""},
		{"64 KiB plus 1", full + "x", "", "must be at most 64 KiB"},
		{"nul", "a\x00b", "", "must not contain NUL characters"},
		{"invalid utf8", "a\xffb", "", "must be valid UTF-8"},
	})
}

package canon

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireReason checks that err is an *Error for field with the given reason
// ("" accepts any reason).
func requireReason(t *testing.T, err error, field, reason string) {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "want *Error, got %T %v", err, err)
	assert.Equal(t, field, e.Field)
	if reason != "" {
		assert.Equal(t, reason, e.Reason)
	}
	assert.Equal(t, e.Field+": "+e.Reason, err.Error())
	assert.Equal(t, strings.ToLower(e.Reason[:1]), e.Reason[:1], "reason starts lower case")
	assert.False(t, strings.HasSuffix(e.Reason, "."), "reason has no final period")
}

func TestErrorString(t *testing.T) {
	err := error(&Error{Field: "login", Reason: "must be 3 to 64 characters"})
	assert.Equal(t, "login: must be 3 to 64 characters", err.Error())
}

func TestLogin(t *testing.T) {
	const lenR, charR = loginLenReason, loginCharsetReason
	tests := []struct {
		name, in, display, canonical, reason string
	}{
		{"empty", "", "", "", "is required"},
		{"ascii 2", "ab", "", "", lenR},
		{"ascii 3", "Abc", "Abc", "abc", ""},
		{"ascii 64", strings.Repeat("A", 64), strings.Repeat("A", 64), strings.Repeat("a", 64), ""},
		{"ascii 65", strings.Repeat("a", 65), "", "", lenR},
		{"cjk 2", "山田", "", "", lenR},
		{"cjk 3", "山田太", "山田太", "山田太", ""},
		{"cjk 64", strings.Repeat("山", 64), strings.Repeat("山", 64), strings.Repeat("山", 64), ""},
		{"cjk 65", strings.Repeat("山", 65), "", "", lenR},
		{"emoji 3", "😀😀😀", "", "", charR},
		{"emoji in ascii", "abc😀", "", "", charR},
		{"emoji 64", strings.Repeat("😀", 64), "", "", charR},
		{"punctuation", "a.b_c-d@e+f", "a.b_c-d@e+f", "a.b_c-d@e+f", ""},
		{"email as login", "Bob@Example.org", "Bob@Example.org", "bob@example.org", ""},
		{"fullwidth", "ＢｉｇＢｉｒｄ", "ＢｉｇＢｉｒｄ", "bigbird", ""},
		{"fullwidth punctuation", "ａ＿ｂ", "ａ＿ｂ", "a_b", ""},
		{"dotless i kept", "mıke", "mıke", "mıke", ""},
		{"sharp s expands", "Straße", "Straße", "strasse", ""},
		{"expansion counted after canonicalisation", strings.Repeat("a", 63) + "ß", "", "", lenR},
		{"ligature", "ﬀoo", "ﬀoo", "ffoo", ""},
		{"decomposed to NFC", "e\u0301tude", "\u00e9tude", "\u00e9tude", ""},
		{"64 decomposed letters", strings.Repeat("e\u0301", 64), strings.Repeat("\u00e9", 64), strings.Repeat("\u00e9", 64), ""},
		{"mark at start", "\u0301abc", "", "", charR},
		{"mark after digit", "ab1\u0301", "", "", charR},
		{"arabic-indic digits", "١٢٣", "١٢٣", "١٢٣", ""},
		{"circled digits", "ab①", "", "", charR},
		{"trade mark sign", "big™", "", "", charR},
		{"roman numeral", "abⅫ", "", "", charR},
		{"space", "big bird", "", "", charR},
		{"leading space", " bigbird", "", "", charR},
		{"ideographic space", "big\u3000bird", "", "", charR},
		{"nbsp", "big\u00a0bird", "", "", charR},
		{"tab", "big\tbird", "", "", charR},
		{"nul", "big\x00bird", "", "", charR},
		{"newline", "bigbird\n", "", "", charR},
		{"rlo", "big\u202ebird", "", "", invisibleReason},
		{"zero width joiner", "big\u200dbird", "", "", invisibleReason},
		// S35: look-alikes.
		{"zero width space", "alice\u200b1", "", "", invisibleReason},
		{"soft hyphen", "ali\u00adce1", "", "", invisibleReason},
		{"variation selector after a letter", "alice\ufe001", "", "", invisibleReason},
		{"combining grapheme joiner", "alice\u034f1", "", "", invisibleReason},
		{"hangul filler", "\u3164alice", "", "", invisibleReason},
		{"halfwidth hangul filler", "bob\uffa0", "", "", invisibleReason},
		{"tag character", "bob\U000e0061", "", "", invisibleReason},
		{"cyrillic a in latin", "\u0430lice1", "", "", loginScriptsReason},
		{"greek omicron in latin", "b\u03bfb1", "", "", loginScriptsReason},
		{"cyrillic with greek", "\u0430\u03b2\u0432", "", "", loginScriptsReason},
		{"latin with hangul and hiragana", "abc한あ", "", "", loginScriptsReason},
		{"latin with arabic", "abc\u0628", "", "", loginScriptsReason},
		{"all cyrillic", "\u0430\u043b\u0438\u0441\u0430", "\u0430\u043b\u0438\u0441\u0430", "\u0430\u043b\u0438\u0441\u0430", ""},
		{"all greek", "\u03b2\u03bf\u03b2", "\u03b2\u03bf\u03b2", "\u03b2\u03bf\u03b2", ""},
		{"japanese with latin", "山田たろうTaro_カタカナ", "山田たろうTaro_カタカナ", "山田たろうtaro_カタカナ", ""},
		{"japanese prolonged sound mark", "ターロー", "ターロー", "ターロー", ""},
		{"chinese with bopomofo and latin", "王ㄅㄆwang", "王ㄅㄆwang", "王ㄅㄆwang", ""},
		{"korean with hanja and latin", "김金kim", "김金kim", "김金kim", ""},
		{"latin with combining mark and digits", "e\u0301tude.123", "\u00e9tude.123", "\u00e9tude.123", ""},
		{"slash", "a/b/c", "", "", charR},
		{"quote", "o'brien", "", "", charR},
		{"invalid utf8", "ab\xffcd", "", "", "must be valid UTF-8"},
		{"arabic ligature with spaces", "ab\ufdfa", "", "", charR},
		{"1 MiB", strings.Repeat("a", 1<<20), "", "", lenR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			display, canonical, err := Login(tt.in)
			if tt.reason != "" {
				requireReason(t, err, "login", tt.reason)
				assert.Empty(t, display)
				assert.Empty(t, canonical)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.display, display)
			assert.Equal(t, tt.canonical, canonical)
			d2, c2, err := Login(canonical)
			require.NoError(t, err, "canonical form re-validates")
			assert.Equal(t, canonical, d2)
			assert.Equal(t, canonical, c2)
		})
	}
}

// TestLoginCollisions covers S10: spellings of one login share a canonical
// form; look-alikes that are different letters do not.
func TestLoginCollisions(t *testing.T) {
	canon := func(s string) string {
		t.Helper()
		_, c, err := Login(s)
		require.NoError(t, err, s)
		return c
	}
	assert.Equal(t, canon("BigBird"), canon("ｂｉｇｂｉｒｄ"))
	assert.Equal(t, canon("BigBird"), canon("BIGBIRD"))
	assert.Equal(t, canon("Straße"), canon("STRASSE"))
	assert.Equal(t, canon("\u00e9tude"), canon("E\u0301TUDE"))
	assert.NotEqual(t, canon("mike"), canon("mıke"))
	assert.NotEqual(t, canon("mike"), canon("MİKE"))
}

func TestEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	domain189 := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	email254 := local64 + "@" + domain189
	require.Len(t, email254, 254)
	tests := []struct {
		name, in, display, canonical, reason string
	}{
		{"plain", "mike@example.org", "mike@example.org", "mike@example.org", ""},
		{"mixed case", "Mike@Example.ORG", "Mike@example.org", "mike@example.org", ""},
		{"dotless i", "mıke@example.org", "mıke@example.org", "mıke@example.org", ""},
		{"dotted capital I", "MİKE@example.org", "MİKE@example.org", "mi\u0307ke@example.org", ""},
		{"sharp s", "Straße@example.org", "Straße@example.org", "strasse@example.org", ""},
		{"unicode local", "Ünïcode@example.org", "Ünïcode@example.org", "ünïcode@example.org", ""},
		{"decomposed local", "Jose\u0301@example.org", "Jos\u00e9@example.org", "jos\u00e9@example.org", ""},
		{"idn domain", "user@bücher.example", "user@bücher.example", "user@xn--bcher-kva.example", ""},
		{"idn domain upper", "user@BÜCHER.Example", "user@bücher.example", "user@xn--bcher-kva.example", ""},
		{"dotted capital I in domain", "0@İ.A", "0@i\u0307.a", "0@xn--i-9bb.a", ""},
		{"final sigma in domain", "a@ΑΣ.gr", "a@ασ.gr", "a@xn--mxa0b.gr", ""},
		{"punycode domain", "user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example", "user@xn--bcher-kva.example", ""},
		{"fullwidth", "ａ@ｅｘａｍｐｌｅ．ｏｒｇ", "ａ@ｅｘａｍｐｌｅ．ｏｒｇ", "a@example.org", ""},
		{"atext specials", "o'brien+tag!#$%&*/=?^_`{|}~-@example.org", "o'brien+tag!#$%&*/=?^_`{|}~-@example.org", "o'brien+tag!#$%&*/=?^_`{|}~-@example.org", ""},
		{"dots inside", "first.last@sub.example.co.uk", "first.last@sub.example.co.uk", "first.last@sub.example.co.uk", ""},
		{"single letter tld", "a@b.c", "a@b.c", "a@b.c", ""},
		{"hyphen inside label", "a@ab--cd.example", "a@ab--cd.example", "a@ab--cd.example", ""},
		{"254 bytes", email254, email254, email254, ""},
		{"255 bytes", local64 + "@" + domain189 + "d", "", "", emailLenReason},
		{"1 MiB", strings.Repeat("a", 1<<20) + "@example.org", "", "", emailLenReason},
		{"local 65 bytes", strings.Repeat("a", 65) + "@example.org", "", "", localLenReason},
		{"local folds past 64 bytes", strings.Repeat("a", 63) + "ß@example.org", "", "", localLenReason},
		{"empty", "", "", "", "is required"},
		{"list", "a@b.c,d@e.f", "", "", "must be a single address"},
		{"semicolon list", "a@b.c;d@e.f", "", "", "must be a single address"},
		{"display name", "A <a@b.co>", "", "", "must be a bare address without a display name or angle brackets"},
		{"angle brackets", "<a@b.co>", "", "", "must be a bare address without a display name or angle brackets"},
		{"header injection", "a@b.co\r\nBcc: x@y.z", "", "", "must not contain control characters"},
		{"newline", "a@b.co\n", "", "", "must not contain control characters"},
		{"nul", "a\x00@b.co", "", "", "must not contain control characters"},
		{"line separator", "a@b.co\u2028", "", "", "must not contain control characters"},
		{"bidi override", "a\u202e@b.co", "", "", "must not contain control characters"},
		{"space", "a b@c.co", "", "", "must not contain spaces"},
		{"trailing space", "a@b.co ", "", "", "must not contain spaces"},
		{"nbsp", "a\u00a0b@c.co", "", "", "must not contain spaces"},
		{"quoted local", `"john"@example.org`, "", "", "must not use a quoted name before @"},
		{"quoted local with space", `"john doe"@example.org`, "", "", "must not use a quoted name before @"},
		{"quoted local with at", `"a@b"@example.org`, "", "", "must not use a quoted name before @"},
		{"no at", "example.org", "", "", "must have the form name@domain"},
		{"fullwidth at", "a＠example.org", "", "", "must have the form name@domain"},
		{"two ats", "a@b@example.org", "", "", "must contain exactly one @"},
		{"empty local", "@example.org", "", "", localLenReason},
		{"leading dot", ".a@example.org", "", "", localDotsReason},
		{"trailing dot", "a.@example.org", "", "", localDotsReason},
		{"double dot", "a..b@example.org", "", "", localDotsReason},
		{"comment", "a(x)@example.org", "", "", localCharsReason},
		{"backslash", `a\b@example.org`, "", "", localCharsReason},
		{"emoji local", "😀@example.org", "", "", localCharsReason},
		{"non-ascii digit local", "١@example.org", "", "", localCharsReason},
		{"leading mark local", "\u0301a@example.org", "", "", localCharsReason},
		// S35: invisible characters in the local part.
		{"zero width space local", "ann\u200b@example.org", "", "", invisibleReason},
		{"soft hyphen local", "an\u00adn@example.org", "", "", invisibleReason},
		{"variation selector local", "ann\ufe0f@example.org", "", "", invisibleReason},
		{"hangul filler local", "ann\u3164@example.org", "", "", invisibleReason},
		{"empty domain", "a@", "", "", domainReason},
		{"one label", "a@localhost", "", "", domainLabelReason},
		{"numeric tld", "a@1.2.3.4", "", "", domainReason},
		{"ip literal", "a@[1.2.3.4]", "", "", domainReason},
		{"leading hyphen", "a@-x.org", "", "", domainReason},
		{"trailing hyphen", "a@x-.org", "", "", domainReason},
		{"trailing dot", "a@x.org.", "", "", domainReason},
		{"empty label", "a@x..org", "", "", domainReason},
		{"underscore", "a@exa_mple.org", "", "", domainReason},
		{"label 64", "a@" + strings.Repeat("x", 64) + ".org", "", "", domainReason},
		{"emoji domain (valid in UTS 46)", "a@😀.org", "a@😀.org", "a@xn--e28h.org", ""},
		{"disallowed domain rune", "a@⒈.org", "", "", domainReason},
		{"bidi rule", "a@aא.org", "", "", domainReason},
		{"bad punycode", "a@xn--zz-.org", "", "", domainReason},
		{"invalid utf8", "a\xff@example.org", "", "", "must be valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			display, canonical, err := Email(tt.in)
			if tt.reason != "" {
				requireReason(t, err, "email", tt.reason)
				assert.Empty(t, display)
				assert.Empty(t, canonical)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.display, display)
			assert.Equal(t, tt.canonical, canonical)
			d2, c2, err := Email(canonical)
			require.NoError(t, err, "canonical form re-validates")
			assert.Equal(t, canonical, d2)
			assert.Equal(t, canonical, c2)
			_, c3, err := Email(display)
			require.NoError(t, err, "display form re-validates")
			assert.Equal(t, canonical, c3)
		})
	}
}

// TestEmailCollisions covers S10 for emails.
func TestEmailCollisions(t *testing.T) {
	canon := func(s string) string {
		t.Helper()
		_, c, err := Email(s)
		require.NoError(t, err, s)
		return c
	}
	assert.Equal(t, canon("mike@example.org"), canon("Mike@Example.ORG"))
	assert.Equal(t, canon("mike@example.org"), canon("ＭＩＫＥ@example.org"))
	assert.Equal(t, canon("user@bücher.example"), canon("user@xn--bcher-kva.example"))
	assert.NotEqual(t, canon("mike@example.org"), canon("mıke@example.org"))
	assert.NotEqual(t, canon("mike@example.org"), canon("MİKE@example.org"))
}

func TestPassword(t *testing.T) {
	const minLen = 8
	const minR, maxR = "must be at least 8 characters", "must be at most 128 characters"
	for _, alpha := range []struct{ name, r string }{
		{"ascii", "a"}, {"cjk", "密"}, {"emoji", "😀"},
	} {
		for _, tt := range []struct {
			n      int
			reason string
		}{
			{minLen - 1, minR}, {minLen, ""}, {MaxPasswordLen, ""}, {MaxPasswordLen + 1, maxR},
		} {
			pw := strings.Repeat(alpha.r, tt.n)
			t.Run(alpha.name+"/"+strconv.Itoa(tt.n), func(t *testing.T) {
				got, err := Password(pw, minLen)
				if tt.reason != "" {
					requireReason(t, err, "password", tt.reason)
					assert.Empty(t, got)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, pw, got)
				// S2: no truncation, so one character more or less fails at
				// the bounds instead of matching a prefix.
				if tt.n == MaxPasswordLen {
					_, err := Password(pw+"x", minLen)
					requireReason(t, err, "password", maxR)
				}
				if tt.n == minLen {
					_, err := Password(pw[:len(pw)-len(alpha.r)], minLen)
					requireReason(t, err, "password", minR)
				}
			})
		}
	}

	t.Run("nfc", func(t *testing.T) {
		pre, err := Password("caf\u00e9-caf\u00e9", minLen)
		require.NoError(t, err)
		dec, err := Password("cafe\u0301-cafe\u0301", minLen)
		require.NoError(t, err)
		assert.Equal(t, pre, dec)
		assert.Equal(t, "caf\u00e9-caf\u00e9", dec)
	})
	t.Run("decomposed counted after nfc", func(t *testing.T) {
		// 8 code points typed as 16: NFC gives 8, so it is accepted.
		_, err := Password(strings.Repeat("e\u0301", 8), minLen)
		require.NoError(t, err)
		_, err = Password(strings.Repeat("e\u0301", 7), minLen)
		requireReason(t, err, "password", minR)
	})
	t.Run("no trimming", func(t *testing.T) {
		got, err := Password("  secret pass  ", minLen)
		require.NoError(t, err)
		assert.Equal(t, "  secret pass  ", got)
	})
	t.Run("any unicode", func(t *testing.T) {
		got, err := Password("\t\x00\u202e密码😀\u200d ab", minLen)
		require.NoError(t, err)
		assert.Equal(t, "\t\x00\u202e密码😀\u200d ab", got)
	})
	t.Run("empty", func(t *testing.T) {
		_, err := Password("", minLen)
		requireReason(t, err, "password", "is required")
	})
	t.Run("1 MiB", func(t *testing.T) {
		_, err := Password(strings.Repeat("a", 1<<20), minLen)
		requireReason(t, err, "password", maxR)
	})
	t.Run("byte cap before utf8 check", func(t *testing.T) {
		_, err := Password(strings.Repeat("\xff", 4*MaxPasswordLen+1), minLen)
		requireReason(t, err, "password", maxR)
	})
	t.Run("invalid utf8", func(t *testing.T) {
		_, err := Password("password\xff", minLen)
		requireReason(t, err, "password", "must be valid UTF-8")
	})
	t.Run("min below 1", func(t *testing.T) {
		got, err := Password("x", 0)
		require.NoError(t, err)
		assert.Equal(t, "x", got)
	})
	t.Run("other min", func(t *testing.T) {
		_, err := Password("short", 12)
		requireReason(t, err, "password", "must be at least 12 characters")
	})
	t.Run("result is valid utf8", func(t *testing.T) {
		got, err := Password("caf\u00e9 au lait", minLen)
		require.NoError(t, err)
		assert.True(t, utf8.ValidString(got))
	})
}

// TestConcurrent runs the validators from many goroutines so that -race
// catches any shared state (cases.Caser is stateful, so each call owns one).
func TestConcurrent(t *testing.T) {
	inputs := []string{"BigBird", "ｂｉｇｂｉｒｄ", "Straße", "mıke", "e\u0301tude"}
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				s := inputs[(g+i)%len(inputs)]
				_, _, _ = Login(s)
				_, _, _ = Email(s + "@Bücher.example")
				_, _ = Tags([]string{s, "x"})
				_, _ = Password(s+s, 8)
			}
		}()
	}
	for range 8 {
		<-done
	}
	_, c1, err := Login("BigBird")
	require.NoError(t, err)
	_, c2, err := Login("ｂｉｇｂｉｒｄ")
	require.NoError(t, err)
	assert.Equal(t, c1, c2)
}

// TestFoldASCIIIsFold: the ASCII shortcut of fold gives what the Unicode transformers give,
// for every ASCII character alone and in random strings.
func TestFoldASCIIIsFold(t *testing.T) {
	check := func(s string) {
		t.Helper()
		fast, ok := foldASCII(s)
		if !ok {
			t.Fatalf("foldASCII(%q) refused an ASCII string", s)
		}
		slow, settled := foldUnicode(s)
		if !settled || fast != slow {
			t.Fatalf("fold(%q): shortcut %q, transformers %q (settled %v)", s, fast, slow, settled)
		}
	}
	for c := 0; c < utf8.RuneSelf; c++ {
		check(string(rune(c)))
		check("Ab" + string(rune(c)) + "Z")
	}
	rnd := rand.New(rand.NewPCG(18, 18))
	for range 10000 {
		b := make([]byte, rnd.IntN(40))
		for i := range b {
			b[i] = byte(rnd.IntN(utf8.RuneSelf))
		}
		check(string(b))
	}
	for _, s := range []string{"é", "\u212a", "ß", "ﬁ", "Ａ", "aé"} { // U+212A is the Kelvin sign
		if _, ok := foldASCII(s); ok {
			t.Errorf("foldASCII(%q) took a non-ASCII string", s)
		}
	}
}

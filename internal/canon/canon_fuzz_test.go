package canon

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// S10: every validator survives hostile input, returns only *Error
// failures, and what it accepts is valid UTF-8 and a fixed point. CI runs
// every fuzz target for a short budget.

// checkErr fails the fuzz run when err is not a well-formed *Error for field.
func checkErr(t *testing.T, err error, field string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Field != field || e.Reason == "" {
		t.Fatalf("want *Error for %s, got %T %v", field, err, err)
	}
}

func checkUTF8(t *testing.T, ss ...string) {
	t.Helper()
	for _, s := range ss {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 in output %q", s)
		}
	}
}

func FuzzLogin(f *testing.F) {
	for _, s := range []string{
		"BigBird", "ｂｉｇｂｉｒｄ", "mıke", "MİKE", "Straße", "e\u0301tude", "a.b_c-d@e+f",
		"山田太", "😀😀😀", "big bird", "ab\ufdfa", "\u0301abc", "ab\xff", strings.Repeat("a", 65),
		"\u0430lice1", "b\u03bfb1", "山田たろうtaro", "alice\u200b1", "ali\u00adce", "bob\u3164",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		display, canonical, err := Login(s)
		if err != nil {
			checkErr(t, err, "login")
			return
		}
		checkUTF8(t, display, canonical)
		// S35: no invisible characters, no script mixing beyond UTS #39 highly restrictive.
		if hasDefaultIgnorable(display) || hasDefaultIgnorable(canonical) {
			t.Fatalf("Login(%q) = %q, %q holds a default-ignorable code point", s, display, canonical)
		}
		if mixesScripts(display) || mixesScripts(canonical) {
			t.Fatalf("Login(%q) = %q, %q mixes scripts", s, display, canonical)
		}
		d2, c2, err := Login(canonical)
		if err != nil {
			t.Fatalf("canonical %q of %q refused: %v", canonical, s, err)
		}
		if d2 != canonical || c2 != canonical {
			t.Fatalf("Login(%q) = %q, %q; want the canonical form back", canonical, d2, c2)
		}
		if _, c3, err := Login(display); err != nil || c3 != canonical {
			t.Fatalf("display %q of %q: canonical %q, %v; want %q", display, s, c3, err, canonical)
		}
	})
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{
		"mike@example.org", "Mike@Example.ORG", "mıke@example.org", "user@bücher.example",
		"ａ@ｅｘａｍｐｌｅ．ｏｒｇ", "a@b.c,d@e.f", "A <a@b.co>", "a@b.co\r\nBcc: x@y.z",
		`"john doe"@example.org`, "a..b@x.org", "a@xn--bcher-kva.example", "a@😀.org",
		"Straße@example.org", "a@1.2.3.4", "a@x-.org", "a@xn--zz-.org",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		display, canonical, err := Email(s)
		if err != nil {
			checkErr(t, err, "email")
			return
		}
		checkUTF8(t, display, canonical)
		if len(display) > maxEmailBytes || len(canonical) > maxEmailBytes {
			t.Fatalf("%q: result longer than %d bytes", s, maxEmailBytes)
		}
		if strings.Count(canonical, "@") != 1 || strings.Count(display, "@") != 1 {
			t.Fatalf("%q: result %q / %q does not hold exactly one @", s, display, canonical)
		}
		if hasDefaultIgnorable(display) || hasDefaultIgnorable(canonical) {
			t.Fatalf("%q: result %q / %q holds a default-ignorable code point", s, display, canonical)
		}
		d2, c2, err := Email(canonical)
		if err != nil {
			t.Fatalf("canonical %q of %q refused: %v", canonical, s, err)
		}
		if d2 != canonical || c2 != canonical {
			t.Fatalf("Email(%q) = %q, %q; want the canonical form back", canonical, d2, c2)
		}
		if _, c3, err := Email(display); err != nil || c3 != canonical {
			t.Fatalf("display %q of %q: canonical %q, %v; want %q", display, s, c3, err, canonical)
		}
	})
}

func FuzzPhone(f *testing.F) {
	for _, s := range []string{
		"47802323143", "+44 (27) 123-314.5", "+", "12ab5", "1234", "1234567890123456",
		"١٢٣٤٥", "1+2345", "(+44) 20",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Phone(s)
		if err != nil {
			checkErr(t, err, "phone")
			return
		}
		checkUTF8(t, p)
		if s == "" {
			if p != "" {
				t.Fatalf("Phone(\"\") = %q", p)
			}
			return
		}
		digits := strings.TrimPrefix(p, "+")
		if len(digits) < minPhoneDigits || len(digits) > maxPhoneDigits || strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("Phone(%q) = %q, not + and 5 to 15 digits", s, p)
		}
		if again, err := Phone(p); err != nil || again != p {
			t.Fatalf("Phone(%q) = %q, %v; want a fixed point", p, again, err)
		}
	})
}

func FuzzTags(f *testing.F) {
	for _, s := range []string{
		"Go\ngo\n GO ", "a,b", "two words\ntwo  words", "Straße\nstrasse", "", "\n",
		"c++", "日本語\ne\u0301t\u00e9", "a\u00a8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags, err := Tags(strings.Split(s, "\n"))
		if err != nil {
			checkErr(t, err, "user_tags")
			return
		}
		if len(tags) == 0 || len(tags) > MaxTags {
			t.Fatalf("Tags(%q) returned %d tags", s, len(tags))
		}
		seen := map[string]bool{}
		for _, tag := range tags {
			checkUTF8(t, tag)
			if seen[tag] || strings.ContainsRune(tag, ',') || strings.TrimSpace(tag) != tag {
				t.Fatalf("Tags(%q) = %q: duplicate, comma or untrimmed", s, tags)
			}
			seen[tag] = true
		}
		again, err := Tags(tags)
		if err != nil {
			t.Fatalf("Tags(%q) refused its own output: %v", tags, err)
		}
		if strings.Join(again, "\n") != strings.Join(tags, "\n") || len(again) != len(tags) {
			t.Fatalf("Tags(%q) = %q; want a fixed point", tags, again)
		}
	})
}

func FuzzWebsite(f *testing.F) {
	for _, s := range []string{
		"https://example.org/path?q=1#f", "HTTP://Example.org", "javascript:alert(1)",
		"ftp://x.org", "http://", "http://user:pass@x.org", "http:x.org", "http://[::1]:80/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := Website(s)
		if err != nil {
			checkErr(t, err, "website")
			return
		}
		checkUTF8(t, w)
		if s != "" && !strings.HasPrefix(w, "http://") && !strings.HasPrefix(w, "https://") {
			t.Fatalf("Website(%q) = %q: not http or https", s, w)
		}
		if !strings.EqualFold(w, s) || len(w) != len(s) {
			t.Fatalf("Website(%q) = %q: more than the scheme changed", s, w)
		}
		if again, err := Website(w); err != nil || again != w {
			t.Fatalf("Website(%q) = %q, %v; want a fixed point", w, again, err)
		}
	})
}

func FuzzCustomData(f *testing.F) {
	for _, s := range []string{"", `{"a":1}`, "a\x00b", "a\xffb", "line\nbreak"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := CustomData(s)
		if err != nil {
			checkErr(t, err, "custom_data")
			return
		}
		checkUTF8(t, d)
		if d != s || strings.IndexByte(d, 0) >= 0 || len(d) > MaxCustomData {
			t.Fatalf("CustomData(%q) = %q", s, d)
		}
	})
}

func FuzzFullName(f *testing.F) {
	for _, s := range []string{"Ada Lovelace", "  Ada \n", "Ada\u202eecalevoL", "Jose\u0301", " \u0301a", "\xff", "Ad\u200ba", "👩\u200d💻 \u2764\ufe0f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := FullName(s)
		if err != nil {
			checkErr(t, err, "full_name")
			return
		}
		checkUTF8(t, n)
		for _, r := range n {
			if isDefaultIgnorable(r) && r != '\u200d' && r != '\ufe0e' && r != '\ufe0f' {
				t.Fatalf("FullName(%q) = %q holds the invisible %U", s, n, r)
			}
		}
		if again, err := FullName(n); err != nil || again != n {
			t.Fatalf("FullName(%q) = %q, %v; want a fixed point", n, again, err)
		}
	})
}

func FuzzExternalID(f *testing.F) {
	for _, s := range []string{"crm-42", " x", "x ", "a\x01b", "客户-42"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ExternalID(s)
		if err != nil {
			checkErr(t, err, "external_id")
			return
		}
		checkUTF8(t, id)
		if id != s {
			t.Fatalf("ExternalID(%q) = %q; want it unchanged", s, id)
		}
	})
}

func FuzzPassword(f *testing.F) {
	for _, s := range []string{"supersecurepwd", "caf\u00e9-caf\u00e9", "cafe\u0301-cafe\u0301", "short", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Password(s, 8)
		if err != nil {
			checkErr(t, err, "password")
			return
		}
		checkUTF8(t, p)
		if n := utf8.RuneCountInString(p); n < 8 || n > MaxPasswordLen {
			t.Fatalf("Password(%q) = %q with %d code points", s, p, n)
		}
		if again, err := Password(p, 8); err != nil || again != p {
			t.Fatalf("Password(%q) = %q, %v; want a fixed point", p, again, err)
		}
	})
}

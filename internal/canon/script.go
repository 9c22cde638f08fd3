package canon

import (
	"sort"
	"unicode"
)

// Look-alike defences (S35), from Go's own Unicode tables (package unicode; the Unicode version
// is unicode.Version).

// isDefaultIgnorable reports the Default_Ignorable_Code_Point property, derived as
// DerivedCoreProperties.txt does (UAX #44):
//
//	Other_Default_Ignorable_Code_Point + Cf (format) + Variation_Selector
//	- White_Space - FFF9..FFFB (interlinear annotation) - 13430..1343F (Egyptian hieroglyph
//	format controls) - Prepended_Concatenation_Mark
//
// These code points show nothing (zero-width spaces and joiners, soft hyphen, word joiner,
// variation selectors, Hangul fillers, tag characters, bidi controls), so two strings that
// differ only in them look the same.
func isDefaultIgnorable(r rune) bool {
	switch {
	case r < 0xAD:
		return false // ASCII and Latin-1 up to the soft hyphen: none
	case unicode.Is(unicode.White_Space, r),
		r >= 0xFFF9 && r <= 0xFFFB,
		r >= 0x13430 && r <= 0x1343F,
		unicode.Is(unicode.Prepended_Concatenation_Mark, r):
		return false
	}
	return unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}

// hasDefaultIgnorable reports whether s holds a default-ignorable code point.
func hasDefaultIgnorable(s string) bool {
	for _, r := range s {
		if isDefaultIgnorable(r) {
			return true
		}
	}
	return false
}

// scriptNames lists unicode.Scripts' names, sorted so that the scripts of most logins come
// first and the rest in a fixed order.
var scriptNames = func() []string {
	first := []string{"Latin", "Common", "Inherited", "Han", "Hiragana", "Katakana", "Hangul", "Cyrillic", "Greek"}
	seen := map[string]bool{}
	for _, n := range first {
		seen[n] = true
	}
	var rest []string
	for n := range unicode.Scripts {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(first, rest...)
}()

// scriptOf returns the Script property of r ("Common", "Latin", ...); "Unknown" when
// unassigned.
func scriptOf(r rune) string {
	for _, n := range scriptNames {
		if unicode.Is(unicode.Scripts[n], r) {
			return n
		}
	}
	return "Unknown"
}

// highlyRestrictive are the script sets UTS #39's "Highly Restrictive" level allows beyond a
// single script: Latin with the scripts Japanese, Chinese and Korean writing mix with it.
var highlyRestrictive = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
	{"Latin": true, "Han": true, "Hangul": true},
}

// mixesScripts reports whether s fails UTS #39's "Highly Restrictive" level: its characters
// other than Common and Inherited ones (digits, punctuation, combining marks) must all be of one
// script, or of one of the sets in highlyRestrictive. The Script property stands in for
// Script_Extensions, which package unicode lacks; the characters it would add (such as the
// Japanese prolonged sound mark) are Common or Inherited, so they go with any script.
func mixesScripts(s string) bool {
	var scripts []string
	for _, r := range s {
		sc := scriptOf(r)
		if sc == "Common" || sc == "Inherited" {
			continue
		}
		found := false
		for _, have := range scripts {
			found = found || have == sc
		}
		if !found {
			scripts = append(scripts, sc)
		}
	}
	if len(scripts) <= 1 {
		return false
	}
	for _, set := range highlyRestrictive {
		all := true
		for _, sc := range scripts {
			all = all && set[sc]
		}
		if all {
			return false
		}
	}
	return true
}

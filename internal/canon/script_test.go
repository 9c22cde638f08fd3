package canon

import (
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
)

func TestDefaultIgnorable(t *testing.T) {
	// The derivation matches DerivedCoreProperties.txt: its total for the Unicode version
	// Go's tables carry.
	totals := map[string]int{"15.0.0": 4174}
	if want, ok := totals[unicode.Version]; ok {
		n := 0
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if isDefaultIgnorable(r) {
				n++
			}
		}
		assert.Equal(t, want, n, "Default_Ignorable_Code_Point count for Unicode %s", unicode.Version)
	} else {
		t.Logf("no published total for Unicode %s; add it from DerivedCoreProperties.txt", unicode.Version)
	}
	for _, r := range []rune{0xAD, 0x34F, 0x61C, 0x115F, 0x17B4, 0x180B, 0x180E, 0x200B, 0x200D, 0x202E, 0x2060, 0x3164, 0xFE0F, 0xFEFF, 0xFFA0, 0x1D173, 0xE0001, 0xE0100, 0xE0FFF} {
		assert.True(t, isDefaultIgnorable(r), "%U", r)
	}
	for _, r := range []rune{' ', 'a', 0xA0, 0x600, 0x1680, 0xFFF9, 0x13430, 0x110BD, 0x3000} {
		assert.False(t, isDefaultIgnorable(r), "%U", r)
	}
}

func TestMixesScripts(t *testing.T) {
	for s, want := range map[string]bool{
		"alice1": false, "\u0430lice1": true, "b\u03bfb1": true, "абв": false, "αβγ": false,
		"山田たろうtaro": false, "王ㄅwang": false, "김金kim": false, "김ㄅ": true, "たろう김": true,
		"ab-1.2_3": false, "e\u0301": false, "١٢٣abc": true, "abc123": false, "abc\u05d0": true,
	} {
		assert.Equal(t, want, mixesScripts(s), "%q", s)
	}
}

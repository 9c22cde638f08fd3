package canon

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Boundaries the other tests leave open (found by mutation testing, scripts/mutation.sh): the
// last letter of the domain alphabet, characters outside it, and the input cap of a tag.
func TestBoundaries(t *testing.T) {
	for _, ok := range []string{"a@zz.example", "a@z.z", "z@example.zz", "a@0-9.example"} {
		_, _, err := Email(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"a@foo_bar.example", "a@foo*bar.example", "a@foo{.example", "a@foo`.example", "a@foo/.example"} {
		_, _, err := Email(bad)
		assert.Error(t, err, bad)
	}

	// A tag's input cap is 1024 bytes, surrounding white space included.
	tags, err := Tags([]string{strings.Repeat(" ", maxTagBytes-4) + "abcd"})
	require.NoError(t, err, "a tag of exactly the cap")
	assert.Equal(t, []string{"abcd"}, tags)
	_, err = Tags([]string{strings.Repeat(" ", maxTagBytes-3) + "abcd"})
	assert.Error(t, err, "a tag over the cap")
}

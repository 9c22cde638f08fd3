package webhook

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Boundaries the other tests leave open (found by mutation testing, scripts/mutation.sh): the
// ends of each range of header-name characters and their neighbours, and a control character
// at the very start of a field name.
func TestBoundaries(t *testing.T) {
	for _, r := range "azAZ09!#$%&'*+-.^_`|~" {
		assert.True(t, isTokenChar(r), "%q", r)
	}
	for _, r := range "@[/:{}\x7f\x80é \t\"(),;<=>?\\" {
		assert.False(t, isTokenChar(r), "%q", r)
	}
	assert.Error(t, checkName("\x01subject"), "a control character first")
	assert.Error(t, checkName("sub\x01ject"))
	assert.NoError(t, checkName("subject"))
}

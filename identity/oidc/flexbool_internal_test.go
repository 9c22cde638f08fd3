package oidc

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Apple states email_verified as the string "true"; others as a boolean. Anything else is an
// error, never true.
func TestEmailVerifiedForms(t *testing.T) {
	for raw, want := range map[string]bool{`true`: true, `"true"`: true, `false`: false, `"false"`: false, `null`: false} {
		var v struct {
			B flexBool `json:"b"`
		}
		assert.NoError(t, json.Unmarshal([]byte(`{"b":`+raw+`}`), &v), raw)
		assert.Equal(t, want, bool(v.B), raw)
	}
	for _, raw := range []string{`1`, `"yes"`, `"TRUE"`, `{}`} {
		var v struct {
			B flexBool `json:"b"`
		}
		assert.Error(t, json.Unmarshal([]byte(`{"b":`+raw+`}`), &v), raw)
	}
}

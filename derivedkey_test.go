package authcube_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authcube/authcube/authtest"
)

// DerivedKey: stable across restarts, independent per purpose, and different for another data
// directory.
func TestDerivedKey(t *testing.T) {
	env := authtest.New(t)
	a, b := env.Engine.DerivedKey("a"), env.Engine.DerivedKey("b")
	assert.Len(t, a, 32)
	assert.NotEqual(t, a, b)
	env.Restart(t)
	assert.Equal(t, a, env.Engine.DerivedKey("a"), "after a restart")
	other := authtest.New(t, authtest.WithSeed(2))
	assert.NotEqual(t, a, other.Engine.DerivedKey("a"), "another directory")
}

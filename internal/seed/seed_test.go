package seed_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/internal/seed"
)

// A seeded directory opens as an engine, its users sign in with seed.Password, and a second
// call gives an independent copy.
func TestDir(t *testing.T) {
	dir := seed.Dir(t, 500)
	e, err := authcube.Open(context.Background(), authcube.Config{
		Dir: dir, Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	defer e.Close()
	s, err := e.CreateUserSession(context.Background(), authcube.Credentials{Login: seed.Login(499), Password: seed.Password})
	require.NoError(t, err)
	page, err := e.ListUsers(context.Background(), s.Token, authcube.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 500, page.Total)
	assert.NotEqual(t, dir, seed.Dir(t, 500))
	assert.Equal(t, seed.User(7), seed.User(7), "deterministic")
}

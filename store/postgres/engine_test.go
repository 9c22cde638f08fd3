package postgres_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store/postgres"
)

// Two engines on one PostgreSQL schema, with no Dir, behave as one service: a user signed up on
// A signs in on B, and a session destroyed on A is refused on B (each engine runs without its
// session cache: the store does not publish changes yet).
func TestEnginesOnOneSchema(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	engine := func() *authcube.Engine {
		st, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 4})
		require.NoError(t, err)
		blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
		require.NoError(t, err)
		e, err := authcube.Open(t.Context(), authcube.Config{
			Store: st, Blobs: blobs, Mailer: &authtest.Mailbox{},
			Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
			Logger:  slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		return e
	}
	a, b := engine(), engine()
	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	u, err := a.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)

	s, err := b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	require.Equal(t, u.ID, s.UserID)
	got, err := a.Session(ctx, s.Token)
	require.NoError(t, err)
	require.Equal(t, u.ID, got.UserID)

	require.NoError(t, a.DestroySession(ctx, s.Token))
	_, err = b.Session(ctx, s.Token)
	require.True(t, errors.Is(err, authcube.ErrUnauthorized), "got %v", err)
}

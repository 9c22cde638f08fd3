package postgres_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store/postgres"
)

// enginesOnOneSchema opens two engines, with no Dir, on one fresh schema.
func enginesOnOneSchema(t *testing.T) (a, b *authcube.Engine) {
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
	return engine(), engine()
}

// refusedSoon requires that token is refused by e within the propagation bound: a revocation
// on another engine reaches e's cache by NOTIFY, after the commit.
func refusedSoon(t *testing.T, e *authcube.Engine, token string) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, err := e.Session(t.Context(), token)
		return errors.Is(err, authcube.ErrUnauthorized)
	}, 5*time.Second, time.Millisecond, "a session ended on another engine stays usable")
}

// Two engines on one PostgreSQL schema behave as one service: a user signed up on A signs in on
// B, and a session B has cached is refused on B soon after A destroys it.
func TestEnginesOnOneSchema(t *testing.T) {
	a, b := enginesOnOneSchema(t)
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

	_, err = b.Session(ctx, s.Token) // B created it: cached there
	require.NoError(t, err)

	require.NoError(t, a.DestroySession(ctx, s.Token))
	refusedSoon(t, b, s.Token)

	// The other revocations too: sign-out, and a password change that revokes other sessions.
	s2, err := b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	require.NoError(t, a.SignOut(ctx, s2.Token))
	require.Eventually(t, func() bool {
		got, err := b.Session(ctx, s2.Token)
		return err == nil && got.UserID == 0
	}, 5*time.Second, time.Millisecond, "a sign-out on A is seen on B")
	s3, err := b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	s4, err := a.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	_, err = a.UpdateUser(ctx, s4.Token, authcube.UserUpdate{Password: ptr("a brand new password"), OldPassword: "correct horse battery"})
	require.NoError(t, err)
	refusedSoon(t, b, s3.Token)
}

func ptr[T any](v T) *T { return &v }

// When the listening connection is killed, no revoked session is accepted afterwards: the
// cache is dropped and bypassed until the listener is back, and then works again.
func TestListenerKilled(t *testing.T) {
	a, b := enginesOnOneSchema(t)
	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	_, err = a.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	creds := authcube.Credentials{Login: "marvin18", Password: "correct horse battery"}
	s, err := b.CreateUserSession(ctx, creds) // cached on B
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, testURL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	// Every authcube listener of the database: the other tests' recover as this one's does.
	listeners := func() []uint32 {
		rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = 'authcube listener' ORDER BY pid`)
		require.NoError(t, err)
		pids, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
		require.NoError(t, err)
		return pids
	}
	killed := listeners()
	require.NotEmpty(t, killed)
	_, err = conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1)`, killed)
	require.NoError(t, err)
	require.NoError(t, a.DestroySession(ctx, s.Token))
	refusedSoon(t, b, s.Token)

	// Once the listeners are back, B keeps sessions in memory again and hears of A's changes.
	require.Eventually(t, func() bool {
		back := listeners()
		return len(back) >= 2 && !slices.ContainsFunc(back, func(p uint32) bool { return slices.Contains(killed, p) })
	}, 10*time.Second, 5*time.Millisecond, "the listeners reconnect")

	s2, err := b.CreateUserSession(ctx, creds)
	require.NoError(t, err)
	require.NoError(t, a.DestroySession(ctx, s2.Token))
	refusedSoon(t, b, s2.Token)
}

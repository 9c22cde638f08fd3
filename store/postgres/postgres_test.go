package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/postgres"
	"github.com/authcube/authcube/store/storetest"
)

// testURL returns the server the tests may create schemas in, from AUTHCUBE_TEST_POSTGRES, or
// skips the test.
func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("AUTHCUBE_TEST_POSTGRES")
	if url == "" {
		t.Skip("AUTHCUBE_TEST_POSTGRES is not set: set it to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests")
	}
	return url
}

var schemaSeq atomic.Int64

// freshSchema returns a schema name no other run uses; it is dropped at the test's end.
func freshSchema(t *testing.T, url string) string {
	t.Helper()
	name := fmt.Sprintf("authcube_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano(), schemaSeq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// open opens a store in a fresh schema, closed and dropped at the test's end.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	url := testURL(t)
	s, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: freshSchema(t, url), MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// Instances starting together on one schema migrate it once, and a second Open finds it done.
func TestConcurrentOpen(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
}

// A schema written by a newer authcube is refused.
func TestSchemaTooNew(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	s, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema})
	require.NoError(t, err)
	s.Close()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	_, err = conn.Exec(t.Context(), `UPDATE `+pgx.Identifier{schema}.Sanitize()+`.schema_version SET version = version + 1`)
	require.NoError(t, err)
	_, err = postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema})
	require.ErrorIs(t, err, postgres.ErrSchemaTooNew)
}

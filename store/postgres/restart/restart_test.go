//go:build pgrestart

// Package restart_test restarts the PostgreSQL server under load. It is a package of its own,
// built only with the pgrestart tag, because it disturbs every other client of the server:
// .ci/run runs it in a step of its own (go test -tags pgrestart ./store/postgres/restart/), and
// it restarts only a server on this machine (AUTHCUBE_TEST_POSTGRES naming 127.0.0.1 or
// localhost).
package restart_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store/postgres"
)

// restartCommand restarts the local server; AUTHCUBE_TEST_POSTGRES_CLUSTER ("15 main" by
// default) names the Debian cluster.
func restartCommand() *exec.Cmd {
	cluster := strings.Fields(os.Getenv("AUTHCUBE_TEST_POSTGRES_CLUSTER"))
	if len(cluster) != 2 {
		cluster = []string{"15", "main"}
	}
	return exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", cluster[0], cluster[1], "restart")
}

// localURL returns the test server's URL when this test may restart it, or skips.
func localURL(t *testing.T) string {
	url := os.Getenv("AUTHCUBE_TEST_POSTGRES")
	if url == "" {
		t.Skip("AUTHCUBE_TEST_POSTGRES is not set: set it to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests")
	}
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	if cfg.Host != "127.0.0.1" && cfg.Host != "localhost" && cfg.Host != "::1" {
		t.Fatalf("AUTHCUBE_TEST_POSTGRES names host %s: this test restarts only a server on this machine", cfg.Host)
	}
	return url
}

// PostgreSQL restarted under load: calls fail closed (an error, never a revoked session
// accepted), no acknowledged write is lost, and the engines recover by themselves.
func TestRestartUnderLoad(t *testing.T) {
	url := localURL(t)
	ctx := t.Context()
	schema := fmt.Sprintf("authcube_restart_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for { // the server may still be starting
			conn, err := pgx.Connect(ctx, url)
			if err == nil {
				_, err = conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
				conn.Close(ctx)
				assert.NoError(t, err)
				return
			}
			if ctx.Err() != nil {
				t.Errorf("drop schema %s: %v", schema, err)
				return
			}
			time.Sleep(100 * time.Millisecond) // a pause between reconnects, not an expiry
		}
	})
	var es []*authcube.Engine
	for range 2 {
		st, err := postgres.Open(ctx, postgres.Config{URL: url, Schema: schema, MaxConns: 8})
		require.NoError(t, err)
		blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
		require.NoError(t, err)
		e, err := authcube.Open(ctx, authcube.Config{
			Store: st, Blobs: blobs, Mailer: &authtest.Mailbox{},
			Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
			Logger:  slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		es = append(es, e)
	}
	a, b := es[0], es[1]

	// Sessions cached on B and destroyed on A before the restart: never accepted again.
	var revoked []string
	for range 20 {
		s, err := b.CreateSession(ctx)
		require.NoError(t, err)
		require.NoError(t, a.DestroySession(ctx, s.Token))
		revoked = append(revoked, s.Token)
	}
	require.Eventually(t, func() bool {
		for _, tok := range revoked {
			if _, err := b.Session(ctx, tok); !errors.Is(err, authcube.ErrUnauthorized) {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond)

	var (
		stop      atomic.Bool
		wg        sync.WaitGroup
		mu        sync.Mutex
		acked     []string // sessions whose creation returned nil
		failures  atomic.Int64
		staleYess atomic.Int64
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := es[i%2]
			for n := 0; !stop.Load(); n++ {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				s, err := e.CreateSession(cctx)
				if err == nil {
					mu.Lock()
					acked = append(acked, s.Token)
					mu.Unlock()
				} else {
					failures.Add(1)
				}
				if _, err := e.Session(cctx, revoked[n%len(revoked)]); err == nil {
					staleYess.Add(1)
				}
				cancel()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // load before the restart (a pace, not an expiry)
	out, err := restartCommand().CombinedOutput()
	require.NoError(t, err, "restart: %s", out)
	// The engines recover by themselves: both create sessions again.
	require.Eventually(t, func() bool {
		for _, e := range es {
			if _, err := e.CreateSession(ctx); err != nil {
				return false
			}
		}
		return true
	}, 60*time.Second, 10*time.Millisecond, "the engines did not recover after the restart")
	time.Sleep(300 * time.Millisecond) // load after the recovery
	stop.Store(true)
	wg.Wait()

	assert.Zero(t, staleYess.Load(), "a revoked session was accepted")
	t.Logf("%d sessions acknowledged, %d calls failed (closed) during the restart", len(acked), failures.Load())
	require.NotEmpty(t, acked)
	for _, tok := range acked {
		for i, e := range es {
			_, err := e.Session(ctx, tok)
			require.NoError(t, err, "engine %d lost an acknowledged session", i)
		}
	}
	for _, tok := range revoked {
		for _, e := range es {
			_, err := e.Session(ctx, tok)
			require.ErrorIs(t, err, authcube.ErrUnauthorized)
		}
	}
}

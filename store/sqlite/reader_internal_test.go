package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

func openInternal(t *testing.T, opt Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "authcube.db"), opt)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// TestReadConnSettings: every connection of the read pool, not only the first, is query-only
// and has its busy timeout and memory map.
func TestReadConnSettings(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 3})
	var held []*conn
	for range 3 {
		c, err := s.readers.get(t.Context())
		require.NoError(t, err)
		held = append(held, c)
	}
	for i, c := range held {
		assert.Equal(t, int64(1), pragma(t, c, "query_only"), "conn %d", i)
		assert.Equal(t, int64(10000), pragma(t, c, "busy_timeout"), "conn %d", i)
		assert.Greater(t, pragma(t, c, "mmap_size"), int64(1<<30), "conn %d", i) // SQLite caps it just under 2 GiB
		assert.Equal(t, "wal", pragmaText(t, c, "journal_mode"), "conn %d", i)
		_, err := c.exec(`INSERT INTO throttle (key, failures, until) VALUES ('k', 1, 0)`)
		require.Error(t, err, "conn %d wrote", i)
		assert.Contains(t, err.Error(), "readonly")
	}
	for _, c := range held {
		s.readers.put(c)
	}
}

func pragma(t *testing.T, c *conn, name string) (v int64) {
	t.Helper()
	require.NoError(t, c.run(context.Background(), "PRAGMA "+name, nil, func(r row) error { v = r.Int64(0); return nil }))
	return v
}

func pragmaText(t *testing.T, c *conn, name string) (v string) {
	t.Helper()
	require.NoError(t, c.run(context.Background(), "PRAGMA "+name, nil, func(r row) error { v = r.Text(0); return nil }))
	return v
}

// TestReadBindsEveryType: each Go type the store binds reaches SQLite as the value it is, the
// empty string and the empty blob included (not as NULL).
func TestReadBindsEveryType(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	var (
		i64, i, b, isNull, emptyIsNull, emptyBlobLen int64
		str                                          string
		blob                                         []byte
	)
	err := s.readRow(t.Context(), `SELECT ?, ?, ?, ? IS NULL, ? IS NULL, length(?), ?, ?`,
		[]any{int64(-1 << 40), 7, true, nil, "", []byte{}, "héllo\x00world", []byte{0, 1, 2}},
		scanInto(&i64, &i, &b, &isNull, &emptyIsNull, &emptyBlobLen, &str, &blob))
	require.NoError(t, err)
	assert.Equal(t, int64(-1<<40), i64)
	assert.Equal(t, int64(7), i)
	assert.Equal(t, int64(1), b)
	assert.Equal(t, int64(1), isNull)
	assert.Equal(t, int64(0), emptyIsNull)
	assert.Equal(t, int64(0), emptyBlobLen)
	assert.Equal(t, "héllo\x00world", str)
	assert.Equal(t, []byte{0, 1, 2}, blob)

	err = s.readRow(t.Context(), `SELECT ?`, []any{struct{}{}}, scanInto(&i))
	assert.ErrorContains(t, err, "cannot bind")
}

// TestReadCancel: a read whose ctx ends is interrupted with ctx's error, and the connection is
// left usable for the next read.
func TestReadCancel(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 1})
	ctx, cancel := context.WithCancel(t.Context())
	rows := 0
	// An endless query: the callback cancels after the first rows.
	err := s.read(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n`, nil,
		func(r row) error {
			if rows++; rows == 10 {
				cancel()
			}
			return nil
		})
	require.ErrorIs(t, err, context.Canceled)

	err = s.read(ctx, `SELECT 1`, nil, func(row) error { return nil })
	require.ErrorIs(t, err, context.Canceled, "a done ctx runs nothing")

	var one int
	require.NoError(t, s.readRow(t.Context(), `SELECT 1`, nil, scanInto(&one)), "the connection is usable")
	assert.Equal(t, 1, one)
}

// TestReadStatementCacheBound: past maxStmtsPerConn distinct queries a connection keeps no more
// statements and still answers each.
func TestReadStatementCacheBound(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 1})
	for i := range maxStmtsPerConn + 20 {
		var v int
		require.NoError(t, s.readRow(t.Context(), fmt.Sprintf("SELECT %d", i), nil, scanInto(&v)))
		require.Equal(t, i, v)
	}
	c, err := s.readers.get(t.Context())
	require.NoError(t, err)
	assert.Len(t, c.stmts, maxStmtsPerConn)
	s.readers.put(c)
}

// TestReadPoolWaits: more concurrent readers than connections wait for one, and a reader whose
// ctx ends while waiting gets ctx's error.
func TestReadPoolWaits(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 2})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 50 {
				_, err := s.User(t.Context(), 1)
				assert.ErrorIs(t, err, store.ErrNotFound)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, s.readers.opened, 2)

	held := []*conn{}
	for range 2 {
		c, err := s.readers.get(t.Context())
		require.NoError(t, err)
		held = append(held, c)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.User(ctx, 1)
	assert.ErrorIs(t, err, context.Canceled)
	for _, c := range held {
		s.readers.put(c)
	}
}

// TestReadAfterClose: reads after Close fail cleanly, and a connection in use at Close is
// closed when it is put back.
func TestReadAfterClose(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 2})
	_, err := s.User(t.Context(), 1)
	require.ErrorIs(t, err, store.ErrNotFound)
	c, err := s.readers.get(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s.readers.put(c)
	assert.Zero(t, c.db, "closed when put back")
	_, err = s.User(t.Context(), 1)
	assert.ErrorIs(t, err, errClosed)
}

// TestLookUpPlans: each unique-ish look-up seeks one index (a change of schema or statement
// that made SQLite scan instead would pass every other test and cost milliseconds at 1M users).
func TestLookUpPlans(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	for q, index := range map[string]string{
		`SELECT min(id) FROM users WHERE ltrim(phone, '+') = ? AND phone <> ''`: "users_phone_digits",
		`SELECT min(id) FROM users WHERE external_id = ? AND external_id <> ''`: "users_external_id",
		`SELECT id FROM users WHERE login_canon = ?`:                            "sqlite_autoindex_users_1",
		`SELECT id FROM users WHERE email_canon = ?`:                            "sqlite_autoindex_users_2",
	} {
		var plan []string
		require.NoError(t, s.read(t.Context(), "EXPLAIN QUERY PLAN "+q, []any{"x"}, func(r row) error {
			plan = append(plan, r.Text(3))
			return nil
		}))
		assert.Contains(t, strings.Join(plan, "; "), "INDEX "+index, q)
		assert.NotContains(t, strings.Join(plan, "; "), "SCAN", q)
	}
}

// TestReadPoolCloseWakesWaiters: a reader waiting for a connection when the store closes fails
// with errClosed instead of waiting forever.
func TestReadPoolCloseWakesWaiters(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 1})
	c, err := s.readers.get(t.Context())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		var one int
		done <- s.readRow(context.Background(), `SELECT 1`, nil, scanInto(&one))
	}()
	require.Eventually(t, func() bool {
		s.readers.mu.Lock()
		defer s.readers.mu.Unlock()
		return s.readers.waiters == 1
	}, testWait, testTick)
	require.NoError(t, s.Close())
	require.ErrorIs(t, <-done, errClosed)
	s.readers.put(c)
	assert.Zero(t, c.db, "closed when put back")
}

// TestReadPoolFailedOpenWakesWaiters: when an open fails, readers that were waiting for the
// pool's only slot try (and fail) themselves instead of waiting out their ctx.
func TestReadPoolFailedOpenWakesWaiters(t *testing.T) {
	t.Parallel()
	p := newReadPool(filepath.Join(t.TempDir(), "missing", "x.db"), 1)
	var wg sync.WaitGroup
	var stuck atomic.Int32
	for range 64 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testWait)
			defer cancel()
			if _, err := p.get(ctx); errors.Is(err, context.DeadlineExceeded) {
				stuck.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, stuck.Load(), "gets that waited out their ctx on an empty pool")
	assert.Zero(t, p.opened)
}

// TestReadPoolPutCloseRace: connections put back while the pool closes are all closed.
func TestReadPoolPutCloseRace(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	for range 100 {
		p := newReadPool(s.readers.path, 4)
		var held []*conn
		for range 4 {
			c, err := p.get(t.Context())
			require.NoError(t, err)
			held = append(held, c)
		}
		var wg sync.WaitGroup
		for _, c := range held {
			wg.Go(func() { p.put(c) })
		}
		p.close()
		wg.Wait()
		assert.Empty(t, p.idle)
		for i, c := range held {
			require.Zero(t, c.db, "connection %d left open", i)
		}
	}
}

// TestReadDoneCtxInterrupts: a ctx that ends just as a statement starts still interrupts it
// (SQLite clears an interruption that lands before the first step).
func TestReadDoneCtxInterrupts(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{ReadConns: 1})
	c, err := s.readers.get(t.Context())
	require.NoError(t, err)
	defer s.readers.put(c)
	errRan := errors.New("ran to the end")
	for range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rows := 0
		err := c.run(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n`, nil,
			func(row) error {
				if rows++; rows == 2_000_000 {
					return errRan
				}
				return nil
			})
		require.ErrorIs(t, err, context.Canceled)
	}
}

// TestPrepareRefusesSeveralStatements: a second statement is an error, not silently dropped.
func TestPrepareRefusesSeveralStatements(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	var one int
	require.NoError(t, s.readRow(t.Context(), "SELECT 1; \n", nil, scanInto(&one)))
	err := s.readRow(t.Context(), "SELECT 1; SELECT 2", nil, scanInto(&one))
	assert.ErrorContains(t, err, "more than one statement")
}

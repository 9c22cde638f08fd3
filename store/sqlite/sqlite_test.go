package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
	"github.com/authcube/authcube/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// openAt opens the store at path and closes it when the test ends.
func openAt(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

// open opens a fresh store in the test's temporary directory.
func open(t *testing.T) *sqlite.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "authcube.db"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func user(login string) store.User {
	return store.User{Login: login, LoginCanon: login, CreatedAt: t0, UpdatedAt: t0, LastRequestAt: t0}
}

func session(name string) store.Session {
	return store.Session{
		TokenHash:     sha256.Sum256([]byte(name)),
		ID:            "id-" + name,
		AppID:         1,
		CreatedAt:     t0,
		LastRequestAt: t0,
	}
}

func userVersion(t *testing.T, db *sql.DB) int {
	t.Helper()
	var v int
	require.NoError(t, db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v))
	return v
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, sqlite.SchemaVersion(), 1)

	t.Run("Fresh", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		assert.Equal(t, sqlite.SchemaVersion(), userVersion(t, s.DB()))
	})

	t.Run("Reopen", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "authcube.db")
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		require.NoError(t, err)
		id, err := s.CreateUser(t.Context(), user("alice"))
		require.NoError(t, err)
		se := session("alice")
		se.UserID, se.Provider, se.SignedInAt = id, "password", t0
		require.NoError(t, s.CreateSession(t.Context(), se, ""))
		require.NoError(t, s.Close())

		s = openAt(t, path)
		assert.Equal(t, sqlite.SchemaVersion(), userVersion(t, s.DB()))
		u, err := s.UserByLogin(t.Context(), "alice")
		require.NoError(t, err)
		assert.Equal(t, id, u.ID)
		got, err := s.Session(t.Context(), se.TokenHash)
		require.NoError(t, err)
		assert.Equal(t, se, got)

		next, err := s.CreateUser(t.Context(), user("bob"))
		require.NoError(t, err)
		assert.Greater(t, next, id)
	})

	t.Run("TooNew", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "authcube.db")
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		require.NoError(t, err)
		require.NoError(t, s.Close())

		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		_, err = db.ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", sqlite.SchemaVersion()+1))
		require.NoError(t, err)
		require.NoError(t, db.Close())

		s, err = sqlite.Open(t.Context(), path, sqlite.Options{})
		if err == nil {
			s.Close()
		}
		require.ErrorIs(t, err, sqlite.ErrSchemaTooNew)
		assert.Nil(t, s)

		// The refused database is left as it was.
		db, err = sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		assert.Equal(t, sqlite.SchemaVersion()+1, userVersion(t, db))
	})
}

// TestPragmas checks the settings on several read connections at once, so that each pooled
// connection is seen to get them, not only the first.
func TestPragmas(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := t.Context()
	var conns []*sql.Conn
	for range 2 { // the size of DB's pool
		c, err := s.DB().Conn(ctx)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	for i, c := range conns {
		var journal string
		var fk, syncMode int
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal))
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
		require.NoError(t, c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&syncMode))
		assert.Equal(t, "wal", journal, "conn %d", i)
		assert.Equal(t, 1, fk, "conn %d", i)
		assert.Equal(t, 2, syncMode, "conn %d: synchronous FULL", i)
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
}

// TestReadPoolIsQueryOnly: DB is for inspection; a write through it is refused.
func TestReadPoolIsQueryOnly(t *testing.T) {
	t.Parallel()
	s := open(t)
	_, err := s.DB().ExecContext(t.Context(), `INSERT INTO users (login, login_canon, created_at, updated_at, last_request_at)
		VALUES ('x', 'x', 0, 0, 0)`)
	require.Error(t, err)
	_, err = s.UserByLogin(t.Context(), "x")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestStrictTables(t *testing.T) {
	t.Parallel()
	s := open(t)
	rows, err := s.DB().QueryContext(t.Context(), "PRAGMA table_list")
	require.NoError(t, err)
	defer rows.Close()
	strict := map[string]int{}
	for rows.Next() {
		var schema, name, typ string
		var ncol, wr, st int
		require.NoError(t, rows.Scan(&schema, &name, &typ, &ncol, &wr, &st))
		if schema == "main" {
			strict[name] = st
		}
	}
	require.NoError(t, rows.Err())
	for _, table := range []string{"users", "user_tags", "sessions"} {
		v, ok := strict[table]
		if assert.True(t, ok, "table %s missing", table) {
			assert.Equal(t, 1, v, "table %s is not STRICT", table)
		}
	}
}

// TestGroupCommitIsolation sends one burst of writes in which every tenth breaks a UNIQUE rule:
// the failures roll back only themselves, and every caller gets its own answer.
func TestGroupCommitIsolation(t *testing.T) {
	t.Parallel()
	s := open(t)
	taken, err := s.CreateUser(t.Context(), user("taken"))
	require.NoError(t, err)

	const n = 200
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		ids   = make([]int64, n)
		errs  = make([]error, n)
	)
	login := func(i int) string {
		if i%10 == 0 {
			return "taken"
		}
		return fmt.Sprintf("user%03d", i)
	}
	for i := range n {
		wg.Go(func() {
			<-start
			u := user(login(i))
			u.Email = fmt.Sprintf("u%03d@example.com", i)
			u.EmailCanon = u.Email
			u.Tags = []string{fmt.Sprintf("t%d", i)}
			ids[i], errs[i] = s.CreateUser(context.Background(), u)
		})
	}
	close(start)
	wg.Wait()

	seen := map[int64]int{taken: -1}
	for i := range n {
		if i%10 == 0 {
			var ce *store.ConflictError
			if assert.ErrorAs(t, errs[i], &ce, "caller %d", i) {
				assert.Equal(t, "login", ce.Field, "caller %d", i)
			}
			_, err := s.UserByEmail(t.Context(), fmt.Sprintf("u%03d@example.com", i))
			assert.ErrorIs(t, err, store.ErrNotFound, "caller %d failed but is stored", i)
			continue
		}
		if !assert.NoError(t, errs[i], "caller %d", i) {
			continue
		}
		if prev, dup := seen[ids[i]]; dup {
			t.Errorf("callers %d and %d both got id %d", prev, i, ids[i])
		}
		seen[ids[i]] = i
		u, err := s.User(t.Context(), ids[i])
		if assert.NoError(t, err, "caller %d", i) {
			assert.Equal(t, login(i), u.LoginCanon, "caller %d got someone else's id", i)
			assert.Equal(t, []string{fmt.Sprintf("t%d", i)}, u.Tags)
		}
	}
	assert.Len(t, seen, 1+n-n/10)

	var count int
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM users").Scan(&count))
	assert.Equal(t, 1+n-n/10, count)
	require.NoError(t, s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM user_tags").Scan(&count))
	assert.Equal(t, n-n/10, count, "the tags of failed users are rolled back with them")
}

func TestClose(t *testing.T) {
	t.Parallel()

	t.Run("Idempotent", func(t *testing.T) {
		t.Parallel()
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "authcube.db"), sqlite.Options{})
		require.NoError(t, err)
		require.NoError(t, s.CreateSession(t.Context(), session("before"), ""))
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())

		ctx := t.Context()
		h := session("before").TokenHash
		assert.Error(t, s.CreateSession(ctx, session("after"), ""))
		_, err = s.CreateUser(ctx, user("after"))
		assert.Error(t, err)
		assert.Error(t, s.TouchSession(ctx, h, t0.Add(time.Hour)))
		assert.Error(t, s.SignOutSession(ctx, h, t0.Add(time.Hour)))
		assert.Error(t, s.DeleteSession(ctx, h))
		removed, err := s.ExpireSession(ctx, h, t0)
		assert.Error(t, err)
		assert.False(t, removed)
		_, err = s.Session(ctx, h)
		assert.Error(t, err)
		assert.NotErrorIs(t, err, store.ErrNotFound, "a closed store does not say not found")
	})

	// DuringWrites closes the store while writers are queued: each write either failed or is
	// durable, and nothing panics or hangs.
	t.Run("DuringWrites", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "authcube.db")
		s, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		require.NoError(t, err)

		const n = 300
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.CreateSession(context.Background(), session(fmt.Sprint(i)), "")
			})
		}
		close(start)
		require.NoError(t, s.Close())
		wg.Wait()

		s = openAt(t, path)
		for i, werr := range errs {
			_, err := s.Session(t.Context(), session(fmt.Sprint(i)).TokenHash)
			if werr == nil {
				assert.NoError(t, err, "write %d returned nil but is not stored", i)
			} else {
				assert.ErrorIs(t, err, store.ErrNotFound, "write %d failed (%v) but is stored", i, werr)
			}
		}
	})
}

func TestSchemaGolden(t *testing.T) {
	t.Parallel()
	got := schema(t, open(t))
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestSchemaGolden -update to create it")
	assert.Equal(t, string(want), got, "schema changed: check it, then run go test -run TestSchemaGolden -update")
}

// schema is the text of s's schema, as testdata/schema.golden holds it.
func schema(t *testing.T, s *sqlite.Store) string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(),
		`SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	require.NoError(t, err)
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, tbl string
		var text sql.NullString
		require.NoError(t, rows.Scan(&typ, &name, &tbl, &text))
		fmt.Fprintf(&b, "-- %s %s on %s\n%s;\n\n", typ, name, tbl, text.String)
	}
	require.NoError(t, rows.Err())
	return b.String()
}

// R2, R4: two Opens of a new database interleave at the worst point: the first has read
// schema version 0 inside its migration transaction, and the second tries to migrate too. The
// write lock taken up front makes the second wait, so both open without error. Not parallel:
// it sets the package's migration hook.
func TestConcurrentOpenOfNewDatabase(t *testing.T) {
	type who struct{}
	path := filepath.Join(t.TempDir(), "race.db")
	first := context.WithValue(t.Context(), who{}, "first")
	second := context.WithValue(t.Context(), who{}, "second")
	secondDone := make(chan error, 1)
	secondAtZero := make(chan struct{})
	var started, sawZero sync.Once
	defer sqlite.SetStepHook(func(ctx context.Context, have int) {
		switch {
		case ctx.Value(who{}) == "second" && have == 0:
			sawZero.Do(func() { close(secondAtZero) })
		case ctx.Value(who{}) == "first" && have == 0:
			started.Do(func() {
				go func() {
					s, err := sqlite.Open(second, path, sqlite.Options{})
					if err == nil {
						err = s.Close()
					}
					secondDone <- err
				}()
				// With the write lock held the second cannot get here; without it, it does at
				// once. The timer bounds the wait for what must not happen; it paces nothing.
				select {
				case <-secondAtZero:
				case <-time.After(2 * time.Second):
				}
			})
		}
	})()
	s, err := sqlite.Open(first, path, sqlite.Options{})
	require.NoError(t, err, "the first Open")
	require.NoError(t, s.Close())
	require.NoError(t, <-secondDone, "the second Open")
	select {
	case <-secondAtZero:
		t.Fatal("the second Open read version 0 while the first was migrating")
	default:
	}
	s, err = sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

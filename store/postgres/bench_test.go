package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/internal/seed"
	"github.com/authcube/authcube/store/postgres"
)

// The PostgreSQL benchmarks of BENCHMARKS.md: each engine figure beside a raw pgx statement of
// the same shape, measured in the same run on a pool of the same size. They need
// AUTHCUBE_TEST_POSTGRES; the seeded schema holds AUTHCUBE_BENCH_PG_USERS users (default
// 100,000; 1,000 with -short), written with COPY, and is dropped at the end of the run.

// benchConns is the pool size of both the engine's store and the raw pool.
const benchConns = 16

func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("AUTHCUBE_BENCH_PG_USERS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 1_000
	}
	return 100_000
}

var (
	seedOnce   sync.Once
	seedSchema string
	seedErr    error
	dropSeeded func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dropSeeded != nil {
		dropSeeded()
	}
	os.Exit(code)
}

// seeded returns the schema holding the seeded users, built once per run with COPY.
func seeded(b *testing.B) string {
	url := testURL(b)
	seedOnce.Do(func() {
		ctx := context.Background()
		seedSchema = fmt.Sprintf("authcube_bench_%d_%d", os.Getpid(), time.Now().UnixNano())
		st, err := postgres.Open(ctx, postgres.Config{URL: url, Schema: seedSchema, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			seedErr = err
			return
		}
		st.Close()
		dropSeeded = func() {
			conn, err := pgx.Connect(ctx, url)
			if err == nil {
				conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{seedSchema}.Sanitize()+` CASCADE`)
				conn.Close(ctx)
			}
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			seedErr = err
			return
		}
		defer conn.Close(ctx)
		n := benchUsers()
		cols := []string{"login", "login_canon", "email", "email_canon", "password_hash", "full_name", "phone",
			"external_id", "tags", "created_at", "updated_at", "last_request_at"}
		i := 0
		_, seedErr = conn.CopyFrom(ctx, pgx.Identifier{seedSchema, "users"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			u := seed.User(i)
			i++
			ms := u.CreatedAt.UnixMilli()
			return []any{u.Login, u.LoginCanon, u.Email, u.EmailCanon, u.PasswordHash, u.FullName, u.Phone,
				u.ExternalID, u.Tags, ms, ms, ms}, nil
		}))
		if seedErr == nil {
			_, seedErr = conn.Exec(ctx, `ANALYZE `+pgx.Identifier{seedSchema, "users"}.Sanitize())
		}
	})
	if seedErr != nil {
		b.Fatal(seedErr)
	}
	return seedSchema
}

// benchEngine opens an engine on the seeded schema.
func benchEngine(b *testing.B, cfg func(*authcube.Config)) *authcube.Engine {
	schema := seeded(b)
	st, err := postgres.Open(b.Context(), postgres.Config{URL: testURL(b), Schema: schema, MaxConns: benchConns, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := blob.OpenDir(filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	c := authcube.Config{
		Store: st, Blobs: blobs, Mailer: &authtest.Mailbox{},
		Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, // seed.Hash's
		Logger:  slog.New(slog.DiscardHandler),
	}
	if cfg != nil {
		cfg(&c)
	}
	e, err := authcube.Open(b.Context(), c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// rawPool is a pgx pool on the seeded schema, of the store's size: the floor.
func rawPool(b *testing.B) *pgxpool.Pool {
	schema := seeded(b)
	cfg, err := pgxpool.ParseConfig(testURL(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = benchConns
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	p, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	if err := p.Ping(b.Context()); err != nil { // connected before any timing
		b.Fatal(err)
	}
	return p
}

// parallel64 runs f from 64 goroutines at once and reports ops/s. It first runs f once from
// each of 64 goroutines, untimed, so that the pool has grown and the statements are prepared:
// a run of a few operations would otherwise time the connections being opened.
func parallel64(b *testing.B, f func(i int64) error) {
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(seq.Add(1)); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := f(seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

const userCols = `id, login, login_canon, email, email_canon, password_hash, full_name, phone, website,
	external_id, tags, custom_data, avatar_uid, created_at, updated_at, last_request_at`

// scanUser reads a row of userCols, as the store does.
func scanUser(row pgx.Row) error {
	var (
		id, c, u, l                            int64
		login, loginC, email, emailC, hash     *string
		name, phone, site, ext, custom, avatar string
		tags                                   []string
	)
	return row.Scan(&id, &login, &loginC, &email, &emailC, &hash, &name, &phone, &site, &ext, &tags, &custom, &avatar, &c, &u, &l)
}

// beside64 times engine from 64 goroutines against raw from 64 goroutines, in alternating
// rounds of 640 calls each (the order flipped every round), so that the floor is measured in
// the same moments as the figure and the machine's drift (a checkpoint, other processes) lands
// in both: b.N engine calls are timed, as many raw calls run outside the timer. It reports
// ops/s (the engine's), raw-ops/s and of-raw (the engine's rate over the raw rate). Each side
// first makes 64 calls from 64 goroutines, untimed, so that the pool has grown and the
// statements are prepared. Each round ends with its last calls in flight, not 64: both sides
// alike, so the ratio holds.
func beside64(b *testing.B, engine, raw func(i int64) error) {
	var seq atomic.Int64
	run := func(n int64, f func(i int64) error) time.Duration {
		var done atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done.Add(1) <= n {
					if err := f(seq.Add(1)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	run(64, engine)
	run(64, raw)
	var et, rt time.Duration
	b.ResetTimer()
	for round, left := 0, int64(b.N); left > 0 && !b.Failed(); round++ {
		n := min(640, left)
		left -= n
		if round%2 == 0 {
			et += run(n, engine)
			b.StopTimer()
			rt += run(n, raw)
			b.StartTimer()
		} else {
			b.StopTimer()
			rt += run(n, raw)
			b.StartTimer()
			et += run(n, engine)
		}
	}
	b.ReportMetric(float64(b.N)/et.Seconds(), "ops/s")
	b.ReportMetric(float64(b.N)/rt.Seconds(), "raw-ops/s")
	b.ReportMetric(rt.Seconds()/et.Seconds(), "of-raw")
}

// interleaved times engine, then raw outside the timer, at each iteration, and reports
// raw-ns/op and x-raw (engine time over raw time): the floor measured in the same moments, so
// that the machine's drift (other processes) lands in both.
func interleaved(b *testing.B, engine, raw func(i int) error) {
	var et, rt time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := engine(i); err != nil {
			b.Fatal(err)
		}
		et += time.Since(start)
		b.StopTimer()
		start = time.Now()
		if err := raw(i); err != nil {
			b.Fatal(err)
		}
		rt += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(rt.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(et)/float64(rt), "x-raw")
}

const selectSession = `SELECT id, app_id, user_id, provider, created_at, signed_in_at, last_request_at
	FROM sessions WHERE token_hash = $1`

// scanSessionRow reads a row of selectSession.
func scanSessionRow(row pgx.Row) error {
	var (
		id           string
		app, c, s, l int64
		user         *int64
		provider     string
	)
	return row.Scan(&id, &app, &user, &provider, &c, &s, &l)
}

// BenchmarkPGSession: Session on a live cached token, 64 goroutines: no database access.
func BenchmarkPGSession(b *testing.B) {
	e := benchEngine(b, nil)
	s, err := e.CreateSession(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	ctx := b.Context()
	parallel64(b, func(int64) error { _, err := e.Session(ctx, s.Token); return err })
}

// BenchmarkPGTokenCheck: the token check that misses the cache (one select of the session by
// its hash), one caller: 2,000 sessions cycled through a cache of 64 entries.
func BenchmarkPGTokenCheck(b *testing.B) {
	e := benchEngine(b, func(c *authcube.Config) { c.SessionCacheSize = 1 }) // 1 entry a shard
	ctx := b.Context()
	n := 2_000
	if testing.Short() {
		n = 200
	}
	tokens := make([]string, n)
	for i := range tokens {
		s, err := e.CreateSession(ctx)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = s.Token
	}
	hashes := make([][32]byte, n)
	for i, tok := range tokens {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			b.Fatal(err)
		}
		hashes[i] = sha256.Sum256(raw) // the stored hash of a token
	}
	p := rawPool(b)
	b.ReportAllocs()
	interleaved(b, func(i int) error {
		_, err := e.Session(ctx, tokens[i%n])
		return err
	}, func(i int) error {
		h := hashes[(i+n/2)%n] // a row the engine is not reading now
		return scanSessionRow(p.QueryRow(ctx, selectSession, h[:]))
	})
}

// BenchmarkPGUser: User by id with a cached token, one caller.
func BenchmarkPGUser(b *testing.B) {
	e := benchEngine(b, nil)
	ctx := b.Context()
	app, err := e.CreateSession(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := int64(benchUsers())
	p := rawPool(b)
	b.ReportAllocs()
	interleaved(b, func(i int) error {
		_, err := e.User(ctx, app.Token, 1+int64(i)*7919%n)
		return err
	}, func(i int) error {
		return scanUser(p.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, 1+(int64(i)*7919+n/2)%n))
	})
}

// BenchmarkPGUserByEmail: UserByEmail with a cached token, one caller.
func BenchmarkPGUserByEmail(b *testing.B) {
	e := benchEngine(b, nil)
	ctx := b.Context()
	app, err := e.CreateSession(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := benchUsers()
	p := rawPool(b)
	b.ReportAllocs()
	interleaved(b, func(i int) error {
		_, err := e.UserByEmail(ctx, app.Token, seed.Login(i*7919%n)+"@example.org")
		return err
	}, func(i int) error {
		return scanUser(p.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email_canon = $1`, seed.Login((i*7919+n/2)%n)+"@example.org"))
	})
}

// BenchmarkPGRaw: raw pgx single-row selects of the engine's shapes, one caller, on a pool of
// the same size, for reference (each engine benchmark times its own floor beside it; the
// 64-caller writes in [beside64]).
func BenchmarkPGRaw(b *testing.B) {
	p := rawPool(b)
	ctx := b.Context()
	n := int64(benchUsers())
	b.Run("select session", func(b *testing.B) {
		if _, err := p.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_sessions (LIKE sessions INCLUDING ALL)`); err != nil {
			b.Fatal(err)
		}
		const rows = 10_000
		if _, err := p.Exec(ctx, `INSERT INTO bench_sessions (token_hash, id, app_id, created_at, last_request_at)
			SELECT sha256(i::text::bytea), i::text, 1, 0, 0 FROM generate_series(0, $1 - 1) i ON CONFLICT DO NOTHING`, rows); err != nil {
			b.Fatal(err)
		}
		hashes := make([][32]byte, rows)
		for i := range hashes {
			hashes[i] = sha256.Sum256([]byte(strconv.Itoa(i)))
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var (
				id           string
				app, c, s, l int64
				user         *int64
				provider     string
			)
			err := p.QueryRow(ctx, `SELECT id, app_id, user_id, provider, created_at, signed_in_at, last_request_at
				FROM bench_sessions WHERE token_hash = $1`, hashes[i%rows][:]).Scan(&id, &app, &user, &provider, &c, &s, &l)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("select user by id", func(b *testing.B) {
		b.ReportAllocs()
		for i := int64(0); b.Loop(); i++ {
			if err := scanUser(p.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, 1+i*7919%n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("select user by email", func(b *testing.B) {
		b.ReportAllocs()
		for i := int64(0); b.Loop(); i++ {
			email := seed.Login(int(i*7919%n)) + "@example.org"
			if err := scanUser(p.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE email_canon = $1`, email)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPGCreateSession: 64 concurrent callers, each creation durable, beside a raw pgx
// insert of a session row from 64 callers (one statement each, in autocommit).
func BenchmarkPGCreateSession(b *testing.B) {
	e := benchEngine(b, nil)
	p := rawPool(b)
	ctx := b.Context()
	if _, err := p.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_inserts (LIKE sessions INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	base := time.Now().UnixNano()
	b.ReportAllocs()
	beside64(b, func(int64) error {
		_, err := e.CreateSession(ctx)
		return err
	}, func(i int64) error {
		h := sha256.Sum256([]byte(fmt.Sprint(base, i)))
		_, err := p.Exec(ctx, `INSERT INTO bench_inserts (token_hash, id, app_id, created_at, last_request_at)
			VALUES ($1, $2, 1, $3, $3)`, h[:], strconv.FormatInt(i, 10), time.Now().UnixMilli())
		return err
	})
}

// BenchmarkPGUpdateUser: 64 concurrent callers, each updating its own user's full name, beside
// a raw pgx update of the full name and updated_at of a user row from 64 callers, each its own
// row (the same 64 users).
func BenchmarkPGUpdateUser(b *testing.B) {
	e := benchEngine(b, nil)
	p := rawPool(b)
	ctx := b.Context()
	tokens := make(chan string, 64)
	ids := make(chan int64, 64)
	for i := range 64 {
		s, err := e.CreateUserSession(ctx, authcube.Credentials{Login: seed.Login(i), Password: seed.Password})
		if err != nil {
			b.Fatal(err)
		}
		tokens <- s.Token
		ids <- s.UserID
	}
	b.ReportAllocs()
	beside64(b, func(i int64) error {
		token := <-tokens // each caller its own user
		defer func() { tokens <- token }()
		_, err := e.UpdateUser(ctx, token, authcube.UserUpdate{FullName: new(fmt.Sprint("Name ", i))})
		return err
	}, func(i int64) error {
		id := <-ids
		defer func() { ids <- id }()
		_, err := p.Exec(ctx, `UPDATE users SET full_name = $1, updated_at = $2 WHERE id = $3`,
			fmt.Sprint("Name ", i), time.Now().UnixMilli(), id)
		return err
	})
}

// BenchmarkPGUsersByTags: the first page of 50 of one tag, Total included, beside rawPage.
func BenchmarkPGUsersByTags(b *testing.B) {
	e := benchEngine(b, nil)
	ctx := b.Context()
	app, err := e.CreateSession(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p := rawPool(b)
	b.ReportAllocs()
	interleaved(b, func(int) error {
		page, err := e.UsersByTags(ctx, app.Token, []string{"web"}, authcube.Page{PerPage: 50})
		if err == nil && len(page.Users) != 50 {
			err = fmt.Errorf("%d users, want 50", len(page.Users))
		}
		return err
	}, func(int) error { return rawPage(ctx, p) })
}

// rawPage is the floor of the page queries: a raw pgx select of 50 user rows, the first 50 by
// id (the cheapest page there is: one primary key range, no filter, no total).
func rawPage(ctx context.Context, p *pgxpool.Pool) error {
	rows, err := p.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY id LIMIT 50`)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if err := scanUser(rows); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 50 {
		return fmt.Errorf("raw page: %d rows", n)
	}
	return nil
}

// BenchmarkPGUsersByFullName: a 5-character substring, the first page, beside rawPage.
func BenchmarkPGUsersByFullName(b *testing.B) {
	e := benchEngine(b, nil)
	ctx := b.Context()
	app, err := e.CreateSession(ctx)
	if err != nil {
		b.Fatal(err)
	}
	p := rawPool(b)
	b.ReportAllocs()
	interleaved(b, func(int) error {
		page, err := e.UsersByFullName(ctx, app.Token, "Karen", authcube.Page{PerPage: 50})
		if err == nil && len(page.Users) == 0 {
			err = errors.New("no users")
		}
		return err
	}, func(int) error { return rawPage(ctx, p) })
}

// BenchmarkPGRevocation: the delay from DestroySession returning on engine A to engine B (which
// had the session in its cache) refusing it, over 1000 revocations (100 with -short) whatever
// b.N; reported as p50-ns and p99-ns.
func BenchmarkPGRevocation(b *testing.B) {
	a, e := benchEngine(b, nil), benchEngine(b, nil)
	ctx := b.Context()
	n := 1000
	if testing.Short() {
		n = 100
	}
	var delays []time.Duration
	{
		for range n {
			s, err := e.CreateSession(ctx) // cached on B
			if err != nil {
				b.Fatal(err)
			}
			if err := a.DestroySession(ctx, s.Token); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for {
				_, err := e.Session(ctx, s.Token)
				if errors.Is(err, authcube.ErrUnauthorized) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				if time.Since(start) > 10*time.Second {
					b.Fatal("a revocation never reached B")
				}
				time.Sleep(20 * time.Microsecond) // poll without taking a core from the listener
			}
			delays = append(delays, time.Since(start))
		}
	}
	slices.Sort(delays)
	q := func(p float64) float64 { return float64(delays[int(p*float64(len(delays)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.5), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
	b.ReportMetric(0, "ns/op")
}

package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authcube/authcube/store/sqlite"
)

// benchUsers is how many users the import and export benchmarks move:
// AUTHCUBE_BENCH_IMPORT, default 100,000.
func benchUsers(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("AUTHCUBE_BENCH_IMPORT"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(b, err)
		n = v
	}
	return n
}

// benchRow is the i-th user of the benchmarks' data set.
type benchRow struct {
	login, loginCanon, email, emailCanon, hash, fullName, tag string
	created                                                   time.Time
}

func benchRowOf(i int, hash string) benchRow {
	return benchRow{
		login: fmt.Sprintf("User_%07d", i), loginCanon: fmt.Sprintf("user_%07d", i),
		email: fmt.Sprintf("user%07d@example.com", i), emailCanon: fmt.Sprintf("user%07d@example.com", i),
		hash: hash, fullName: fmt.Sprintf("Imported User %d", i), tag: "t" + strconv.Itoa(i%10),
		created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

// benchFile writes n pre-hashed users (one bcrypt hash shared by all: hashing is not what an
// import measures) as jsonl, and returns its path.
func benchFile(b *testing.B, n int) (string, string) {
	hash, err := bcrypt.GenerateFromPassword([]byte("correct horse battery"), 10)
	require.NoError(b, err)
	path := filepath.Join(b.TempDir(), "users.jsonl")
	f, err := os.Create(path)
	require.NoError(b, err)
	w := bufio.NewWriter(f)
	for i := range n {
		r := benchRowOf(i, string(hash))
		fmt.Fprintf(w, `{"login":%q,"email":%q,"password_hash":%q,"full_name":%q,"tags":[%q],"created_at":%q}`+"\n",
			r.login, r.email, r.hash, r.fullName, r.tag, r.created.Format(time.RFC3339))
	}
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
	return path, string(hash)
}

// BenchmarkImportJSONL imports the data set with "authcube users import --format jsonl" (in
// process: the command's own code) into a new directory per iteration.
func BenchmarkImportJSONL(b *testing.B) {
	n := benchUsers(b)
	path, _ := benchFile(b, n)
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		b.StartTimer()
		start, cpuStart := time.Now(), cpuTime()
		code := run(context.Background(), []string{"users", "import", "--dir", dir, "--format", "jsonl", "--batch", benchBatch(), path}, io.Discard, io.Discard)
		elapsed += time.Since(start)
		cpu += cpuTime() - cpuStart
		require.Equal(b, exitOK, code)
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "users/s")
	if cpu > 0 {
		b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "users/cpu-s")
	}
	if rss := peakRSS(); rss > 0 {
		// The process's peak so far: run this benchmark first (alone) for the import's own.
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// rawDB makes the store's schema in a fresh file and opens it through database/sql, one
// connection, durable WAL commits and foreign keys on, plus pragmas (more "&_pragma=..."): the
// raw floors' database.
func rawDB(b *testing.B, pragmas string) *sql.DB {
	path := filepath.Join(b.TempDir(), "raw.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{}) // the schema
	require.NoError(b, err)
	require.NoError(b, st.Close())
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"+pragmas)
	require.NoError(b, err)
	db.SetMaxOpenConns(1)
	return db
}

// BenchmarkImportRawSQLite inserts the same rows into the same schema (triggers and indexes
// included) with one prepared INSERT, 5000 rows per transaction (the command's default batch), through database/sql: the
// floor an import through the engine is compared with.
func BenchmarkImportRawSQLite(b *testing.B) {
	n := benchUsers(b)
	_, hash := benchFile(b, 0)
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		db := rawDB(b, "")
		b.StartTimer()
		start, cpuStart := time.Now(), cpuTime()
		for i := 0; i < n; i += 5000 {
			tx, err := db.Begin()
			require.NoError(b, err)
			ins, err := tx.Prepare(`INSERT INTO users (login, login_canon, email, email_canon, password_hash,
				full_name, tags, created_at, updated_at, last_request_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
			require.NoError(b, err)
			tag, err := tx.Prepare(`INSERT INTO user_tags (tag, user_id) VALUES (?, ?)`)
			require.NoError(b, err)
			for j := i; j < min(i+5000, n); j++ {
				r := benchRowOf(j, hash)
				c := r.created.UnixMilli()
				var id int64
				require.NoError(b, ins.QueryRow(r.login, r.loginCanon, r.email, r.emailCanon, r.hash, r.fullName, r.tag, c, c, c).Scan(&id))
				_, err = tag.Exec(r.tag, id)
				require.NoError(b, err)
			}
			require.NoError(b, tx.Commit())
		}
		elapsed += time.Since(start)
		cpu += cpuTime() - cpuStart
		b.StopTimer()
		require.NoError(b, db.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "users/s")
	if cpu > 0 {
		b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "users/cpu-s")
	}
}

// BenchmarkImportRawSQLiteBulk inserts the same rows into the same schema the way a bulk import
// does, with nothing of authcube around it: the full-name, counter and tag-counter insert
// triggers and the non-unique indexes of users and user_tags dropped, one INSERT … RETURNING id
// of 512 rows at a time and one INSERT of their tag rows, 5000 rows per transaction, then the
// indexes made again, the full-name index rebuilt, the counters recounted and the triggers
// made again in one last transaction; database/sql, with the store's cache size. The floor the
// bulk import is compared with.
func BenchmarkImportRawSQLiteBulk(b *testing.B) {
	n := benchUsers(b)
	_, hash := benchFile(b, 0)
	const chunk = 512
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		db := rawDB(b, "&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)")
		b.StartTimer()
		start, cpuStart := time.Now(), cpuTime()
		var deferred [][3]string // type, name, sql
		rows, err := db.Query(`SELECT upper(type), name, sql FROM sqlite_schema WHERE (type = 'index' AND tbl_name IN ('users', 'user_tags')
			AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE %') OR name IN ('users_fts_insert', 'users_count_insert', 'user_tags_count_insert')`)
		require.NoError(b, err)
		for rows.Next() {
			var d [3]string
			require.NoError(b, rows.Scan(&d[0], &d[1], &d[2]))
			deferred = append(deferred, d)
		}
		require.NoError(b, rows.Err())
		for _, d := range deferred {
			_, err := db.Exec("DROP " + d[0] + " " + d[1])
			require.NoError(b, err)
		}
		users := `INSERT INTO users (login, login_canon, email, email_canon, password_hash, full_name, tags, created_at, updated_at, last_request_at) VALUES ` +
			strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", chunk-1) + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
		tags := `INSERT INTO user_tags (tag, user_id) VALUES ` + strings.Repeat("(?, ?), ", chunk-1) + "(?, ?)"
		for i := 0; i < n; i += 5000 {
			tx, err := db.Begin()
			require.NoError(b, err)
			for k := i; k < min(i+5000, n); k += chunk {
				m := min(chunk, min(i+5000, n)-k)
				args := make([]any, 0, 10*m)
				for j := k; j < k+m; j++ {
					r := benchRowOf(j, hash)
					c := r.created.UnixMilli()
					args = append(args, r.login, r.loginCanon, r.email, r.emailCanon, r.hash, r.fullName, r.tag, c, c, c)
				}
				q, qt := users, tags
				if m < chunk {
					q = strings.Replace(users, strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", chunk-m), "", 1)
					qt = strings.Replace(tags, strings.Repeat("(?, ?), ", chunk-m), "", 1)
				}
				rows, err := tx.Query(q, args...)
				require.NoError(b, err)
				targs := make([]any, 0, 2*m)
				for j := k; rows.Next(); j++ {
					var id int64
					require.NoError(b, rows.Scan(&id))
					targs = append(targs, benchRowOf(j, hash).tag, id)
				}
				require.NoError(b, rows.Err())
				_, err = tx.Exec(qt, targs...)
				require.NoError(b, err)
			}
			require.NoError(b, tx.Commit())
		}
		tx, err := db.Begin()
		require.NoError(b, err)
		for _, q := range []string{
			`INSERT INTO users_fts (users_fts) VALUES ('rebuild')`,
			`UPDATE counters SET n = (SELECT count(*) FROM users) WHERE name = 'users'`,
			`DELETE FROM tag_counts`,
			`INSERT INTO tag_counts (tag, n) SELECT tag, count(*) FROM user_tags GROUP BY tag`,
		} {
			_, err := tx.Exec(q)
			require.NoError(b, err)
		}
		for _, d := range deferred {
			_, err := tx.Exec(d[2])
			require.NoError(b, err)
		}
		require.NoError(b, tx.Commit())
		elapsed += time.Since(start)
		cpu += cpuTime() - cpuStart
		b.StopTimer()
		require.NoError(b, db.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "users/s")
	if cpu > 0 {
		b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "users/cpu-s")
	}
}

// BenchmarkExportJSONL exports the data set with "authcube users export --format jsonl".
func BenchmarkExportJSONL(b *testing.B) {
	n := benchUsers(b)
	path, _ := benchFile(b, n)
	dir := b.TempDir()
	require.Equal(b, exitOK, run(context.Background(), []string{"users", "import", "--dir", dir, "--format", "jsonl", path}, io.Discard, io.Discard))
	var elapsed, cpu time.Duration
	for b.Loop() {
		var out strings.Builder
		start, cpuStart := time.Now(), cpuTime()
		code := run(context.Background(), []string{"users", "export", "--dir", dir, "--format", "jsonl"}, &out, io.Discard)
		elapsed += time.Since(start)
		cpu += cpuTime() - cpuStart
		require.Equal(b, exitOK, code)
		require.Equal(b, n, strings.Count(out.String(), "\n"))
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "users/s")
	if cpu > 0 {
		b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "users/cpu-s")
	}
}

// benchBatch is the --batch of BenchmarkImportJSONL: AUTHCUBE_BENCH_BATCH, default 5000 (the command's).
func benchBatch() string {
	if s := os.Getenv("AUTHCUBE_BENCH_BATCH"); s != "" {
		return s
	}
	return "5000"
}

// Package sqlite is authcube's default [store.Store]: pure-Go SQLite (modernc.org/sqlite) in WAL
// mode with synchronous=FULL, one writer goroutine that commits queued operations in groups, and
// a separate pool of read connections.
//
// Like the store package, this package is outside authcube's compatibility promise.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authcube/authcube/internal/unixms"
	"github.com/authcube/authcube/store"
)

// Options tune a Store. The zero value is the default.
type Options struct {
	// ReadConns is the size of the read pool; 0 means 2 × GOMAXPROCS, at least 4.
	ReadConns int
	// MaxBatch is the most operations one group commit takes; 0 means 256.
	MaxBatch int
	// Exclusive promises that nothing else writes the database while this Store is open: no
	// other process, and no other Store of the file in this process (the caller holds a lock on
	// its directory, as authcube's Open does). [Store.Exclusive] reports it, and an engine then
	// keeps sessions in memory. false (the default) promises nothing.
	Exclusive bool
}

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	readers *readPool // every read of the store
	rdb     *sql.DB   // database/sql reads, for DB()
	w       *writer

	exclusive bool // Options.Exclusive

	closeOnce sync.Once
	closeErr  error
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.Backuper  = (*Store)(nil)
	_ store.Exclusive = (*Store)(nil)
)

// Open opens (creating when missing) the database file at path, applies the embedded
// migrations and starts the writer. A database whose schema is newer than this code is refused
// with an error wrapping [ErrSchemaTooNew]. A program that links a modernc.org/libc other than
// the one its modernc.org/sqlite needs is refused with an error wrapping [ErrLibcMismatch]
// before the file is touched (see checkModernc for when nothing can be checked). ctx bounds the
// opening only.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if err := moderncOK(); err != nil {
		return nil, err
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 256
	}
	wdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxIdleTime(0)
	wdb.SetConnMaxLifetime(0)
	// Openers racing on a new file may find it busy while one of them switches it to WAL,
	// which busy_timeout does not cover: retry for a while.
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		err = migrate(ctx, wdb)
		if errCode(err)&0xff != sqlite3.SQLITE_BUSY || wait > time.Second {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if err != nil {
		wdb.Close()
		return nil, err
	}
	pending, err := bulkPending(ctx, wdb)
	if err != nil {
		wdb.Close()
		return nil, err
	}
	wconn, err := openConn(path, writePragmas())
	if err != nil {
		wdb.Close()
		return nil, err
	}
	// The migrations' connection closes only now, so that it is never the last one open: the
	// last connection to close checkpoints the whole WAL.
	wdb.Close()
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		wconn.close()
		return nil, err
	}
	rdb.SetMaxOpenConns(2)
	cdb, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		rdb.Close()
		wconn.close()
		return nil, err
	}
	cdb.SetMaxOpenConns(1)
	s := &Store{readers: newReadPool(path, opt.ReadConns), rdb: rdb, w: newWriter(wconn, opt.MaxBatch, newCheckpointer(cdb)), exclusive: opt.Exclusive}
	if pending { // a bulk import of users that never ended: finish it before anything reads
		if err := s.EndBulk(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Exclusive implements [store.Exclusive]: it reports Options.Exclusive, the opener's promise
// that nothing else writes the database.
func (s *Store) Exclusive() bool { return s.exclusive }

// writePragmas are set on the writer's connection. synchronous=FULL: a revoked session or a
// used reset token must not come back after a power cut.
func writePragmas() []string {
	ps := []string{
		"PRAGMA busy_timeout = 10000",
		"PRAGMA synchronous = FULL",
		"PRAGMA foreign_keys = 1",
		"PRAGMA cache_size = -65536",    // 64 MiB: index pages of a batch stay in memory
		"PRAGMA wal_autocheckpoint = 0", // the checkpointer does it, off the commit path
		"PRAGMA temp_store = MEMORY",    // statement journals stay in memory, never a temp file
	}
	for _, p := range platformPragmas { // "name(value)", as the DSN has them
		name, value, _ := strings.Cut(strings.TrimSuffix(p, ")"), "(")
		ps = append(ps, "PRAGMA "+name+" = "+value)
	}
	return ps
}

// dsn builds the connection string of the database/sql handles: the migrations' and the
// checkpointer's (read-write) and DB()'s (read-only). The store's own reads and writes use conn
// (readPragmas, writePragmas). The pragmas go through the driver's validated DSN keys so that
// every pooled connection gets them.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	q.Set("_busy_timeout", "10000")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_txlock", "immediate")             // a migration takes the write lock up front
		q.Add("_pragma", "wal_autocheckpoint(0)") // checkpoints are the checkpointer's, on its own schedule
	}
	for _, p := range platformPragmas {
		q.Add("_pragma", p)
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close stops the writer after it has committed what is queued, and closes every connection.
// It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.w.close()
		s.readers.close()
		s.closeErr = s.rdb.Close()
	})
	return s.closeErr
}

// DB returns a database/sql handle of two read connections, for tests and tools that inspect
// the database (integrity checks, schema dumps). It must not be written to. The store's own
// reads do not use it.
func (s *Store) DB() *sql.DB { return s.rdb }

// errCode returns the extended SQLite result code of err, or 0.
func errCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	var re *sqliteError
	if errors.As(err, &re) {
		return re.code
	}
	return 0
}

// isConstraint reports whether err is a constraint failure: the statement failed, the
// transaction is intact.
func isConstraint(err error) bool { return errCode(err)&0xff == sqlite3.SQLITE_CONSTRAINT }

// notFound maps sql.ErrNoRows, which never leaves the store, to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// ms and fromMS convert to and from the stored Unix milliseconds (wrappers, so they inline).
func ms(t time.Time) int64     { return unixms.Of(t) }
func fromMS(v int64) time.Time { return unixms.Time(v) }

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrInvalidAvatar) {
		return err
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

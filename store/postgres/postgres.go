// Package postgres is a [store.Store] on PostgreSQL (15 or later) through pgx's pool, for
// several authcube instances sharing one database.
//
// Every method is one transaction (READ COMMITTED, with the rows a write depends on locked),
// retried inside the store on a serialization failure or a deadlock. Commits are synchronous
// (synchronous_commit = on): a method that returned is durable. Driver errors never reach
// callers as "not found" or "conflict": unique violations become *store.ConflictError by
// constraint name, and rows not found store.ErrNotFound.
//
// The schema lives in its own PostgreSQL schema (Config.Schema), created and migrated by Open;
// the extensions pg_trgm (full-name search) and unaccent are created in public when missing.
//
// The store is a store.Notifier: every change that ends or re-points sessions is published with
// NOTIFY when it commits, so each engine on the database keeps its session cache and drops what
// changed elsewhere (see SubscribeSessions).
//
// Like the store package, this package is outside authcube's compatibility promise.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authcube/authcube/internal/unixms"
	"github.com/authcube/authcube/store"
)

// Config configures Open.
type Config struct {
	// URL is a pgx connection string ("postgres://user:pass@host:5432/db?sslmode=verify-full");
	// required.
	URL string
	// Schema is the PostgreSQL schema that holds authcube's tables; "" means "authcube". It is
	// created when missing.
	Schema string
	// MaxConns caps the pool's connections; 0 means pgxpool's default (the greater of 4 and the
	// number of CPUs).
	MaxConns int32
	// Logger receives the store's log records; nil means slog.Default().
	Logger *slog.Logger
	// Heartbeat is how often an idle session listener proves its connection alive by notifying
	// itself; 0 means DefaultHeartbeat. A ping not delivered within another Heartbeat counts as
	// a lost listener (the engine empties its session cache and reads the database until the
	// listener is back), so a connection that died silently (a NAT dropping it, a transaction
	// pooler on which LISTEN does nothing) is noticed within about two heartbeats.
	Heartbeat time.Duration
}

// DefaultHeartbeat is Config.Heartbeat's default.
const DefaultHeartbeat = 5 * time.Second

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	channel string // of session changes (notify.go)
	beat    time.Duration
	log     *slog.Logger
	done    context.Context // ended by Close: subscriptions stop
	close   context.CancelFunc
}

var _ store.Store = (*Store)(nil)

// ErrSchemaTooNew is returned (wrapped) by Open when the database's schema was written by a newer
// authcube.
var ErrSchemaTooNew = errors.New("postgres: schema is newer than this authcube")

// Open connects, creates the schema when missing and applies the embedded migrations (each in
// one transaction, under an advisory lock so that instances starting together migrate once).
// A schema newer than this code is refused with an error wrapping ErrSchemaTooNew. ctx bounds
// the opening only.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, SchemaVersion())
}

// open is Open, migrating the schema up to version (tests open older schemas to upgrade them).
func open(ctx context.Context, cfg Config, version int) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: Config.URL is required")
	}
	if cfg.Schema == "" {
		cfg.Schema = "authcube"
	}
	if cfg.MaxConns < 0 {
		return nil, errors.New("postgres: Config.MaxConns must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat < 0 {
		return nil, errors.New("postgres: Config.Heartbeat must not be negative")
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: Config.URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pc.ConnConfig.RuntimeParams["search_path"] = cfg.Schema
	pc.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, schema: cfg.Schema, channel: channelOf(cfg.Schema), log: cfg.Logger, beat: cfg.Heartbeat}
	s.done, s.close = context.WithCancel(context.Background())
	if err := s.migrate(ctx, version); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close ends the subscriptions and closes the pool; it waits for connections in use to be
// released. Calls after Close fail.
func (s *Store) Close() error {
	s.close()
	s.pool.Close()
	return nil
}

// querier is what pgx.Tx and *pgxpool.Pool share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxAttempts bounds the retries of a transaction that failed to serialize or deadlocked.
const maxAttempts = 10

// tx runs f in one transaction, committing when it returns nil. A serialization failure or a
// deadlock reruns f (f must be repeatable: reset what it collects at its start).
func (s *Store) tx(ctx context.Context, f func(tx pgx.Tx) error) error {
	return retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, f) })
}

// one runs f, which makes exactly one statement, on the pool, outside an explicit transaction:
// PostgreSQL runs the statement as a transaction of its own, in one round trip instead of the
// three of BEGIN, the statement and COMMIT. Writes whose checks and change fit in one statement
// (a condition in the WHERE clause, a locking sub-select) use it; a serialization failure or a
// deadlock reruns f, as tx does.
func (s *Store) one(ctx context.Context, f func(q querier) error) error {
	return retry(ctx, func() error { return f(s.pool) })
}

// retry runs f up to maxAttempts times while it fails to serialize or deadlocks.
func retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Millisecond):
		}
	}
}

// retryable reports a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// conflictFields maps the unique constraints to the ConflictError field they mean.
var conflictFields = map[string]string{
	"users_login_canon_key":   "login",
	"users_email_canon_key":   "email",
	"identities_pkey":         "identity",
	"passkeys_pkey":           "passkey",
	"passkey_challenges_pkey": "challenge",
}

// classify turns driver errors into the store's: a unique violation of a known constraint is a
// *store.ConflictError, a foreign key violation (a user gone) and no rows are ErrNotFound.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			if f, ok := conflictFields[pe.ConstraintName]; ok {
				return &store.ConflictError{Field: f}
			}
		case "23503": // foreign_key_violation
			return store.ErrNotFound
		}
	}
	return err
}

// wrap passes the store's own errors through and prefixes the others with op.
func wrap(op string, err error) error {
	err = classify(err)
	if err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrInvalidAvatar) {
		return err
	}
	var ce *store.ConflictError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// affected is ErrNotFound when a write touched no row.
func affected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// sqlOf numbers the '?' placeholders of q as $1, $2, ...: the statements are written as in the
// SQLite store. The statement texts are constants, with no '?' elsewhere.
func sqlOf(q string) string {
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	// Byte by byte: '?' is ASCII, and no byte of a multi-byte UTF-8 character is.
	b := make([]byte, 0, len(q)+3*n) // room for "$" and 2 digits a "?", beyond 99 it grows
	n = 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b = append(b, q[i])
			continue
		}
		n++
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(b)
}

func exec(ctx context.Context, q querier, sql string, args ...any) (pgconn.CommandTag, error) {
	return q.Exec(ctx, sqlOf(sql), args...)
}

func queryRow(ctx context.Context, q querier, sql string, args ...any) pgx.Row {
	return q.QueryRow(ctx, sqlOf(sql), args...)
}

// query runs sql and calls f for each row.
func query(ctx context.Context, q querier, sql string, args []any, f func(pgx.Rows) error) error {
	rows, err := q.Query(ctx, sqlOf(sql), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ms and fromMS convert to and from the stored Unix milliseconds.
func ms(t time.Time) int64     { return unixms.Of(t) }
func fromMS(v int64) time.Time { return unixms.Time(v) }

// nullID stores user id 0 (an application session) as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrSchemaTooNew is returned by [Open] for a database written by a newer authcube.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this version of authcube")

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations, numbered 1, 2, ... without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []migration
	for i, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || n != i+1 {
			return nil, fmt.Errorf("sqlite: migration %s is out of sequence", base)
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: n, name: base, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this code writes.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

// SchemaID identifies the exact schema this code writes: a hash of every migration's text. Caches
// of prebuilt databases (benchmark data sets) key on it.
func SchemaID() string {
	ms, _ := migrations()
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.sql))
	}
	return fmt.Sprintf("%d-%x", len(ms), h.Sum(nil)[:6])
}

// migrate brings the database to the latest schema, one transaction per migration with the
// version in PRAGMA user_version. A newer schema than the code knows is refused.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		applied, err := step(ctx, conn, ms)
		if err != nil || !applied {
			return err
		}
	}
}

// stepHook, when set (by tests only), runs inside a migration step's transaction once it has
// read the schema version: tests force two Opens to interleave there.
var stepHook func(ctx context.Context, have int)

// step applies the next pending migration, if any, reading the version inside the migration's
// own write transaction so that two openers never apply the same one.
func step(ctx context.Context, conn *sql.Conn, ms []migration) (applied bool, err error) {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the DSN's _txlock
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var have int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return false, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if stepHook != nil {
		stepHook(ctx, have)
	}
	if have > len(ms) {
		return false, fmt.Errorf("%w (database %d, code %d)", ErrSchemaTooNew, have, len(ms))
	}
	if have == len(ms) {
		return false, nil
	}
	m := ms[have]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	// PRAGMA takes no parameters; the version is an integer we generated.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	return true, tx.Commit()
}

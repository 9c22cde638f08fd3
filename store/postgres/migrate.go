package postgres

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded migration, numbered by its file name's prefix.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations, numbered 1, 2, ... without gaps.
func migrations() ([]migration, error) {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: no number", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: n, name: e.Name(), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migration %s: expected number %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the schema version this code writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// migrateLock is the key of the advisory lock held while migrating: one for every authcube
// schema of the database, because the extensions the migrations need are database-wide.
const migrateLock = 0x61757468637562 // "authcub"

// migrate creates the schema and the extensions when missing and applies the pending
// migrations up to version upTo, each in one transaction that also records the new version. It holds a
// session-level advisory lock throughout, so that instances starting together migrate once and
// the others find the work done.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// A lost connection releases the lock with it; otherwise release it explicitly.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrateLock)); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	schema := pgx.Identifier{s.schema}.Sanitize()
	setup := []string{
		`CREATE SCHEMA IF NOT EXISTS ` + schema,
		`CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`,
		`CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public`,
		`CREATE TABLE IF NOT EXISTS ` + schema + `.schema_version (
			one     BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
			version INTEGER NOT NULL
		)`,
		`INSERT INTO ` + schema + `.schema_version (version) VALUES (0) ON CONFLICT DO NOTHING`,
	}
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT version FROM `+schema+`.schema_version`).Scan(&version); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if version > len(ms) {
		return fmt.Errorf("%w: schema %s is at version %d, this code knows %d", ErrSchemaTooNew, s.schema, version, len(ms))
	}
	for _, m := range ms[version:max(version, upTo)] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+schema); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		s.log.Info("authcube: postgres schema migrated", "schema", s.schema, "version", m.version)
	}
	return nil
}

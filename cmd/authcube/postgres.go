package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store/postgres"
)

// postgresEnv names the environment variable that --postgres defaults to, so that the URL (and
// its password) need not appear in the process list.
const postgresEnv = "AUTHCUBE_POSTGRES_URL"

// openPostgres opens the PostgreSQL store of serve --postgres. Errors never quote the URL, which
// may hold a password.
func openPostgres(ctx context.Context, url, schema string, logger *slog.Logger) (*postgres.Store, error) {
	st, err := postgres.Open(ctx, postgres.Config{URL: url, Schema: schema, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("--postgres: %w", err)
	}
	return st, nil
}

// backupPostgres backs up the authcube schema of a PostgreSQL database with pg_dump, the
// PostgreSQL tool made for it: a consistent snapshot of the schema in pg_dump's custom format,
// written to the file to, which pg_restore reads back. pg_dump must be on PATH, of the
// server's major version or newer. Files are not in the database: back up the blob store too.
func backupPostgres(ctx context.Context, url, schema, to string, stdout, stderr io.Writer) int {
	if _, err := os.Stat(to); err == nil || !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "authcube backup: %s exists already; --to must name a new file\n", to)
		return exitError
	}
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		fmt.Fprintf(stderr, "authcube backup: a PostgreSQL store is backed up with PostgreSQL's pg_dump, which is not on PATH; install it (the postgresql-client package) or run it yourself:\n"+
			"  pg_dump --format=custom --schema=%s --file=%s \"$%s\"\n", pgx.Identifier{schema}.Sanitize(), to, postgresEnv)
		return exitError
	}
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--schema="+pgx.Identifier{schema}.Sanitize(), "--file="+to, "--dbname="+url)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		os.Remove(to) // never leave half a backup behind
		fmt.Fprintf(stderr, "authcube backup: pg_dump failed: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "authcube: backed up PostgreSQL schema %s to %s (pg_dump custom format; restore with pg_restore)\n", schema, to)
	return exitOK
}

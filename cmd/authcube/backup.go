package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/authcube/authcube"
)

// backupOptions are the flags of authcube backup.
type backupOptions struct {
	dir, to                  string
	postgres, postgresSchema string
}

func backupFlags(stderr io.Writer) (*flag.FlagSet, *backupOptions) {
	o := &backupOptions{}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "./authcube-data", "the data directory to copy; no server may hold it")
	fs.StringVar(&o.to, "to", "", "the directory to write the backup into (with --postgres, the file); it must not exist (required)")
	fs.StringVar(&o.postgres, "postgres", os.Getenv(postgresEnv), "back up this PostgreSQL store instead of --dir, with pg_dump (which must be on PATH) into the file --to, in pg_dump's custom format (restore with pg_restore); servers may keep running; default $"+postgresEnv)
	fs.StringVar(&o.postgresSchema, "postgres-schema", "authcube", "the PostgreSQL schema to back up (with --postgres)")
	return fs, o
}

// runBackup opens the data directory (which fails while a server holds it) and writes a
// consistent copy into a new directory.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o := backupFlags(stderr)
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if o.to == "" {
		fmt.Fprintln(stderr, "authcube backup: --to is required")
		return exitUsage
	}
	if o.postgres != "" {
		return backupPostgres(ctx, o.postgres, o.postgresSchema, o.to, stdout, stderr)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e, err := authcube.Open(ctx, authcube.Config{Dir: o.dir, Logger: logger})
	if errors.Is(err, authcube.ErrLocked) {
		fmt.Fprintf(stderr, "authcube backup: %s is in use by another authcube (is \"authcube serve\" running on it?); stop it first\n", o.dir)
		return exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "authcube backup: %v\n", err)
		return exitError
	}
	err = e.Backup(ctx, o.to)
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "authcube backup: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "authcube: backed up %s to %s\n", o.dir, o.to)
	return exitOK
}

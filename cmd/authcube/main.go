// Command authcube serves authcube's ConnectyCube-compatible REST API over a local data
// directory or a PostgreSQL database, makes backups of either, and administers users as
// trusted server code (no session): look, change, disable, end sessions, import and export.
//
//	authcube serve --dir ./authcube-data --addr 127.0.0.1:8080 --app-id 1 --auth-key KEY
//	authcube serve --postgres postgres://user@db:5432/app --addr 127.0.0.1:8081 --auth-key KEY
//	authcube backup --dir ./authcube-data --to ./backup-2026-01-01
//	authcube backup --postgres postgres://user@db:5432/app --to ./authcube-2026-01-01.dump
//	authcube users list --dir ./authcube-data
//	authcube users import --dir ./authcube-data --format jsonl users.jsonl
//	authcube users export --dir ./authcube-data --format jsonl > users.jsonl
//	authcube stats --dir ./authcube-data
//	authcube help
//
// With --postgres (or AUTHCUBE_POSTGRES_URL) users and sessions live in PostgreSQL, and any
// number of serve processes on one database act as one service; --dir then holds only files
// and the mail outbox.
//
// serve listens on loopback unless --public is given, prints the ConnectyCube.init(...) call
// to paste into an app, and shuts down gracefully on SIGINT or SIGTERM, closing the engine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `authcube: an embeddable auth and users engine, with a ConnectyCube-compatible REST API

Usage:
  authcube serve  --auth-key KEY [--dir ./authcube-data] [--addr 127.0.0.1:8080] [--app-id 1]
                  [--full-user-data] [--idle-ttl 2h] [--reset-url URL] [--allowed-origins ORIGINS]
                  [--base-url URL] [--firebase-project ID [--firebase-keys FILE|URL]] [--public]
                  [--read-header-timeout 10s] [--read-timeout 30s] [--write-timeout 30s]
                  [--idle-timeout 2m] [--min-rate 10240] [--max-conns 512]
                  [--postgres URL [--postgres-schema authcube]]
  authcube backup --dir ./authcube-data --to ./backup-dir
  authcube backup --postgres URL [--postgres-schema authcube] --to ./authcube.dump
  authcube users  list|show|create|update|delete|disable|enable|sessions|revoke|import|export ...
  authcube stats  [--dir ./authcube-data | --postgres URL] [--json]
  authcube help [command]

serve   serves the ConnectyCube REST API (Auth, Users, Storage) over the data directory, on
        loopback unless --public is given, and prints the ConnectyCube.init(...) call to paste.
        SIGINT or SIGTERM shut it down gracefully.
        With --postgres URL (or $AUTHCUBE_POSTGRES_URL) users and sessions live in that
        PostgreSQL database, and several servers on it act as one service.
backup  writes a consistent copy of a data directory that no server holds into a new
        directory; with --postgres, runs pg_dump (which must be on PATH) on the schema into a
        new file, while servers keep running.
users   administers users with no session, as trusted server code: look, create, change,
        disable, end sessions, and move users in (jsonl, Firebase, Supabase, PocketBase) and out.
stats   counts users, live sessions and files.

Run "authcube help serve", "authcube help backup" or "authcube users help" for the flags.
`

// run runs the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "backup":
		return runBackup(ctx, rest, stdout, stderr)
	case "users":
		return runUsers(ctx, rest, stdout, stderr)
	case "stats":
		return runStats(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			switch rest[0] {
			case "serve":
				fs, _ := serveFlags(io.Discard)
				printFlags(stdout, "serve", fs)
				return exitOK
			case "backup":
				fs, _ := backupFlags(io.Discard)
				printFlags(stdout, "backup", fs)
				return exitOK
			}
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "authcube: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}

// printFlags prints the flags of a subcommand.
func printFlags(w io.Writer, name string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage of authcube %s:\n", name)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// parse parses a subcommand's flags, answering -h with exitOK and mistakes with exitUsage.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	case err != nil:
		return exitUsage, false
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "authcube %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return exitUsage, false
	}
	return exitOK, true
}

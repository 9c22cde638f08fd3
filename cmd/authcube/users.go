package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/store/postgres"
)

// Exit codes of the users and stats commands, beside exitOK, exitError and exitUsage.
const (
	exitNotFound = 3 // the user or session named does not exist
	exitConflict = 4 // a login or email is taken (create, update, import with --on-conflict fail)
	exitInvalid  = 5 // bad input: a field of create or update, or bad records in an import
	exitLocked   = 6 // the directory is in use by a running server
)

// stdin is where passwords and "-" files are read from; tests replace it.
var stdin io.Reader = os.Stdin

const usersUsage = `Usage:
  authcube users list     [--after ID] [--limit N] [--json]
  authcube users show     ID|LOGIN|EMAIL [--json]
  authcube users create   (--login L | --email E) [profile flags] [--password-stdin] [--json]
  authcube users update   ID|LOGIN|EMAIL [profile flags] [--password [--password-stdin]] [--json]
  authcube users delete   ID|LOGIN|EMAIL
  authcube users disable  ID|LOGIN|EMAIL
  authcube users enable   ID|LOGIN|EMAIL
  authcube users sessions ID|LOGIN|EMAIL [--json]
  authcube users revoke   ID|LOGIN|EMAIL (--session SID | --all)
  authcube users import   --format jsonl|firebase|supabase|pocketbase [--dry-run]
                          [--on-conflict fail|skip] [--bulk auto|on|off] [firebase flags] FILE|-
  authcube users export   --format jsonl [--out FILE]
  authcube stats          [--json]

A user is named by id (an argument of digits only), login or email, in any spelling of its
canonical form. Every command takes --dir DIR (default ./authcube-data) or --postgres URL (with
--schema), and --verbose for all the engine's log records at Info; by default stderr gets
warnings and one record per admin change (the audit trail). Profile flags:
--login, --email, --full-name, --phone, --website, --external-id, --tags a,b, --custom-data.
Passwords are read from a prompt without echo, or from the first line of stdin with
--password-stdin; never from the command line.

Exit codes: 0 done, 1 error, 2 usage, 3 not found, 4 conflict, 5 invalid input (bad records in
an import), 6 the directory is in use by a running server.
`

// common are the flags of every users and stats command.
type common struct {
	dir, pgURL, schema string
	json, verbose      bool
}

func commonFlags(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{}
	fs.StringVar(&c.dir, "dir", "./authcube-data", "data directory")
	fs.StringVar(&c.pgURL, "postgres", "", "PostgreSQL URL: use the PostgreSQL store instead of the directory's SQLite (the directory still holds files and the device key)")
	fs.StringVar(&c.schema, "schema", "", `PostgreSQL schema (default "authcube")`)
	fs.BoolVar(&c.json, "json", false, "print JSON, for scripts")
	fs.BoolVar(&c.verbose, "verbose", false, "log all the engine's records at Info to stderr (by default: warnings and admin changes)")
	return fs, c
}

// parseArgs parses flags that may come before or after the positional arguments, and returns
// the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// auditHandler passes on warnings and errors, and the Info records of admin changes (the
// engine's events with admin=true, and import summaries): an admin command leaves its audit
// trail on stderr without the engine's routine records.
type auditHandler struct{ slog.Handler }

func (h auditHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo && h.Handler.Enabled(ctx, l)
}

func (h auditHandler) Handle(ctx context.Context, r slog.Record) error {
	keep := r.Level >= slog.LevelWarn || r.Message == "authcube: users imported"
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "admin" && a.Value.Kind() == slog.KindBool && a.Value.Bool() {
			keep = true
		}
		return !keep
	})
	if !keep {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h auditHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return auditHandler{h.Handler.WithAttrs(as)}
}

func (h auditHandler) WithGroup(name string) slog.Handler {
	return auditHandler{h.Handler.WithGroup(name)}
}

// openEngine opens the engine the common flags name. Its log goes to stderr: warnings and the
// records of admin changes, or everything at Info with --verbose.
func openEngine(ctx context.Context, c *common, stderr io.Writer) (*authcube.Engine, int, error) {
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
	if !c.verbose {
		h = auditHandler{h}
	}
	logger := slog.New(h)
	cfg := authcube.Config{Dir: c.dir, Logger: logger}
	if c.pgURL != "" {
		st, err := postgres.Open(ctx, postgres.Config{URL: c.pgURL, Schema: c.schema, Logger: logger})
		if err != nil {
			return nil, exitError, err
		}
		cfg.Store = st
	}
	e, err := authcube.Open(ctx, cfg)
	if errors.Is(err, authcube.ErrLocked) {
		return nil, exitLocked, fmt.Errorf("%s is in use by another authcube (is \"authcube serve\" running on it?); stop it first, or use --postgres", c.dir)
	}
	if err != nil {
		if cfg.Store != nil {
			cfg.Store.Close()
		}
		return nil, exitError, err
	}
	return e, exitOK, nil
}

// exitFor maps an engine error to an exit code.
func exitFor(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, authcube.ErrNotFound):
		return exitNotFound
	case errors.Is(err, authcube.ErrConflict):
		return exitConflict
	case errors.Is(err, authcube.ErrInvalid):
		return exitInvalid
	}
	return exitError
}

// runUsers runs "authcube users ...".
func runUsers(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	cmds := map[string]func(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int{
		"list": usersList, "show": usersShow, "create": usersCreate, "update": usersUpdate,
		"delete": usersSimple, "disable": usersSimple, "enable": usersSimple, "sessions": usersSessions,
		"revoke": usersRevoke, "import": usersImport, "export": usersExport,
	}
	f, ok := cmds[sub]
	if !ok {
		if sub == "help" || sub == "-h" || sub == "--help" {
			fmt.Fprint(stdout, usersUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "authcube users: unknown command %q\n\n%s", sub, usersUsage)
		return exitUsage
	}
	return f(ctx, "users "+sub, args, stdout, stderr)
}

// withEngine parses the flags of fs (positional arguments: want of them), opens the engine
// and runs f with it, closing it after.
func withEngine(ctx context.Context, fs *flag.FlagSet, c *common, args []string, want int, stderr io.Writer,
	f func(e *authcube.Engine, pos []string) int) int {
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != want {
		fmt.Fprintf(stderr, "authcube %s: want %d argument(s), got %q\n", fs.Name(), want, pos)
		return exitUsage
	}
	e, code, err := openEngine(ctx, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "authcube %s: %v\n", fs.Name(), err)
		return code
	}
	code = f(e, pos)
	if err := e.Close(); err != nil && code == exitOK {
		fmt.Fprintf(stderr, "authcube %s: %v\n", fs.Name(), err)
		return exitError
	}
	return code
}

// fail prints err for the command and returns its exit code.
func fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
	return exitFor(err)
}

// findUser resolves an id, a login or an email.
func findUser(ctx context.Context, a *authcube.Admin, who string) (authcube.AdminUser, error) {
	if id, err := strconv.ParseInt(who, 10, 64); err == nil && id > 0 {
		return a.User(ctx, id)
	}
	u, err := a.UserByLogin(ctx, who)
	if errors.Is(err, authcube.ErrNotFound) && strings.Contains(who, "@") {
		return a.UserByEmail(ctx, who)
	}
	return u, err
}

// userJSON is a user as the commands print it with --json.
type userJSON struct {
	ID            int64     `json:"id"`
	Login         string    `json:"login"`
	Email         string    `json:"email"`
	FullName      string    `json:"full_name"`
	Phone         string    `json:"phone"`
	Website       string    `json:"website"`
	ExternalID    string    `json:"external_id"`
	Tags          []string  `json:"tags"`
	CustomData    string    `json:"custom_data"`
	AvatarUID     string    `json:"avatar_uid"`
	Disabled      bool      `json:"disabled"`
	HashScheme    string    `json:"hash_scheme"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	LastRequestAt time.Time `json:"last_request_at"`
}

func toJSON(u authcube.AdminUser) userJSON {
	tags := u.Tags
	if tags == nil {
		tags = []string{}
	}
	return userJSON{u.ID, u.Login, u.Email, u.FullName, u.Phone, u.Website, u.ExternalID, tags, u.CustomData,
		u.AvatarUID, u.Disabled, u.HashScheme, u.CreatedAt, u.UpdatedAt, u.LastRequestAt}
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func usersList(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	after := fs.Int64("after", 0, "list users with ids above this one")
	limit := fs.Int("limit", 0, "list at most this many users (default all)")
	return withEngine(ctx, fs, c, args, 0, stderr, func(e *authcube.Engine, _ []string) int {
		a := e.Admin()
		var tw *tabwriter.Writer
		var all []userJSON
		if !c.json {
			tw = tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tLOGIN\tEMAIL\tFULL NAME\tDISABLED\tCREATED")
		}
		n := 0
		for cursor := *after; *limit == 0 || n < *limit; {
			page := 1000
			if *limit > 0 {
				page = min(page, *limit-n)
			}
			us, err := a.Users(ctx, cursor, page)
			if err != nil {
				return fail(stderr, name, err)
			}
			if len(us) == 0 {
				break
			}
			for _, u := range us {
				if c.json {
					all = append(all, toJSON(u))
				} else {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Login, u.Email, u.FullName, yesNo(u.Disabled), u.CreatedAt.Format(time.DateTime))
				}
			}
			n += len(us)
			cursor = us[len(us)-1].ID
		}
		if c.json {
			if all == nil {
				all = []userJSON{}
			}
			printJSON(stdout, all)
			return exitOK
		}
		tw.Flush()
		return exitOK
	})
}

// printUser prints one user as a table of fields or as JSON.
func printUser(w io.Writer, u authcube.AdminUser, asJSON bool) {
	if asJSON {
		printJSON(w, toJSON(u))
		return
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	for _, f := range [][2]string{
		{"ID", strconv.FormatInt(u.ID, 10)}, {"Login", u.Login}, {"Email", u.Email}, {"Full name", u.FullName},
		{"Phone", u.Phone}, {"Website", u.Website}, {"External ID", u.ExternalID}, {"Tags", strings.Join(u.Tags, ",")},
		{"Custom data", u.CustomData}, {"Avatar", u.AvatarUID}, {"Disabled", yesNo(u.Disabled)},
		{"Password", u.HashScheme}, {"Created", u.CreatedAt.Format(time.RFC3339)},
		{"Updated", u.UpdatedAt.Format(time.RFC3339)}, {"Last request", u.LastRequestAt.Format(time.RFC3339)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	tw.Flush()
}

func usersShow(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	return withEngine(ctx, fs, c, args, 1, stderr, func(e *authcube.Engine, pos []string) int {
		u, err := findUser(ctx, e.Admin(), pos[0])
		if err != nil {
			return fail(stderr, name, err)
		}
		printUser(stdout, u, c.json)
		return exitOK
	})
}

// profile are the profile flags of create and update.
type profile struct {
	fs                                                           *flag.FlagSet
	login, email, fullName, phone, website, externalID, tags, cd string
}

func profileFlags(fs *flag.FlagSet) *profile {
	p := &profile{fs: fs}
	fs.StringVar(&p.login, "login", "", "login")
	fs.StringVar(&p.email, "email", "", "email")
	fs.StringVar(&p.fullName, "full-name", "", "full name")
	fs.StringVar(&p.phone, "phone", "", "phone")
	fs.StringVar(&p.website, "website", "", "website")
	fs.StringVar(&p.externalID, "external-id", "", "external id")
	fs.StringVar(&p.tags, "tags", "", "tags, comma-separated")
	fs.StringVar(&p.cd, "custom-data", "", "custom data")
	return p
}

// set reports whether the flag was given.
func (p *profile) set(name string) bool {
	found := false
	p.fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func splitTags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// readPassword reads a password: the first line of stdin with fromStdin, else from the
// terminal without echo, twice.
func readPassword(stderr io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			return "", errors.New("no password on stdin")
		}
		return line, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("stdin is not a terminal: give the password on stdin with --password-stdin")
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Again: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords differ")
	}
	return string(p1), nil
}

func usersCreate(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	p := profileFlags(fs)
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	return withEngine(ctx, fs, c, args, 0, stderr, func(e *authcube.Engine, _ []string) int {
		password, err := readPassword(stderr, *fromStdin)
		if err != nil {
			fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
			return exitUsage
		}
		u, err := e.Admin().CreateUser(ctx, authcube.NewUser{
			Login: p.login, Email: p.email, Password: password, FullName: p.fullName, Phone: p.phone,
			Website: p.website, ExternalID: p.externalID, Tags: splitTags(p.tags), CustomData: p.cd,
		})
		if err != nil {
			return fail(stderr, name, err)
		}
		printUser(stdout, u, c.json)
		return exitOK
	})
}

func usersUpdate(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	p := profileFlags(fs)
	setPassword := fs.Bool("password", false, "set a new password (prompted; ends the user's sessions)")
	fromStdin := fs.Bool("password-stdin", false, "with --password: read it from the first line of stdin")
	return withEngine(ctx, fs, c, args, 1, stderr, func(e *authcube.Engine, pos []string) int {
		a := e.Admin()
		u, err := findUser(ctx, a, pos[0])
		if err != nil {
			return fail(stderr, name, err)
		}
		var uu authcube.UserUpdate
		for _, f := range []struct {
			flag string
			v    *string
			dst  **string
		}{
			{"login", &p.login, &uu.Login}, {"email", &p.email, &uu.Email}, {"full-name", &p.fullName, &uu.FullName},
			{"phone", &p.phone, &uu.Phone}, {"website", &p.website, &uu.Website},
			{"external-id", &p.externalID, &uu.ExternalID}, {"custom-data", &p.cd, &uu.CustomData},
		} {
			if p.set(f.flag) {
				*f.dst = f.v
			}
		}
		if p.set("tags") {
			tags := splitTags(p.tags)
			uu.Tags = &tags
		}
		if *setPassword || *fromStdin {
			password, err := readPassword(stderr, *fromStdin)
			if err != nil {
				fmt.Fprintf(stderr, "authcube %s: %v\n", name, err)
				return exitUsage
			}
			uu.Password = &password
		}
		u, err = a.UpdateUser(ctx, u.ID, uu)
		if err != nil {
			return fail(stderr, name, err)
		}
		printUser(stdout, u, c.json)
		return exitOK
	})
}

// usersSimple runs delete, disable and enable.
func usersSimple(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	return withEngine(ctx, fs, c, args, 1, stderr, func(e *authcube.Engine, pos []string) int {
		a := e.Admin()
		u, err := findUser(ctx, a, pos[0])
		if err != nil {
			return fail(stderr, name, err)
		}
		verb := strings.TrimPrefix(name, "users ")
		switch verb {
		case "delete":
			err = a.DeleteUser(ctx, u.ID)
		case "disable":
			err = a.DisableUser(ctx, u.ID)
		case "enable":
			err = a.EnableUser(ctx, u.ID)
		}
		if err != nil {
			return fail(stderr, name, err)
		}
		if c.json {
			printJSON(stdout, map[string]any{"id": u.ID, verb + "d": true})
		} else {
			fmt.Fprintf(stdout, "user %d %sd\n", u.ID, verb)
		}
		return exitOK
	})
}

func usersSessions(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	return withEngine(ctx, fs, c, args, 1, stderr, func(e *authcube.Engine, pos []string) int {
		a := e.Admin()
		u, err := findUser(ctx, a, pos[0])
		if err != nil {
			return fail(stderr, name, err)
		}
		list, err := a.Sessions(ctx, u.ID)
		if err != nil {
			return fail(stderr, name, err)
		}
		if c.json {
			type sj struct {
				ID         string    `json:"id"`
				SignedInAt time.Time `json:"signed_in_at"`
				UpdatedAt  time.Time `json:"updated_at"`
				ExpiresAt  time.Time `json:"expires_at"`
			}
			out := []sj{}
			for _, s := range list {
				out = append(out, sj{s.ID, s.SignedInAt, s.UpdatedAt, s.ExpiresAt})
			}
			printJSON(stdout, out)
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "SESSION\tSIGNED IN\tLAST REQUEST\tEXPIRES")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.SignedInAt.Format(time.DateTime), s.UpdatedAt.Format(time.DateTime), s.ExpiresAt.Format(time.DateTime))
		}
		tw.Flush()
		return exitOK
	})
}

func usersRevoke(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags(name, stderr)
	sid := fs.String("session", "", "the session id to end (from \"users sessions\")")
	all := fs.Bool("all", false, "end every session of the user")
	return withEngine(ctx, fs, c, args, 1, stderr, func(e *authcube.Engine, pos []string) int {
		if (*sid == "") == !*all {
			fmt.Fprintf(stderr, "authcube %s: give --session SID or --all\n", name)
			return exitUsage
		}
		a := e.Admin()
		u, err := findUser(ctx, a, pos[0])
		if err != nil {
			return fail(stderr, name, err)
		}
		n := 1
		if *all {
			n, err = a.RevokeSessions(ctx, u.ID)
		} else {
			err = a.RevokeSession(ctx, u.ID, *sid)
		}
		if err != nil {
			return fail(stderr, name, err)
		}
		if c.json {
			printJSON(stdout, map[string]any{"id": u.ID, "revoked": n})
		} else {
			fmt.Fprintf(stdout, "ended %d session(s) of user %d\n", n, u.ID)
		}
		return exitOK
	})
}

// runStats runs "authcube stats".
func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, c := commonFlags("stats", stderr)
	return withEngine(ctx, fs, c, args, 0, stderr, func(e *authcube.Engine, _ []string) int {
		st, err := e.Admin().Stats(ctx)
		if err != nil {
			return fail(stderr, "stats", err)
		}
		if c.json {
			printJSON(stdout, map[string]int64{
				"users": st.Users, "disabled_users": st.DisabledUsers, "sessions": st.Sessions,
				"user_sessions": st.UserSessions, "files": st.Files, "file_bytes": st.FileBytes,
			})
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "Users:\t%d\n", st.Users)
		fmt.Fprintf(tw, "Disabled users:\t%d\n", st.DisabledUsers)
		fmt.Fprintf(tw, "Live sessions:\t%d (%d signed in)\n", st.Sessions, st.UserSessions)
		fmt.Fprintf(tw, "Files:\t%d (%d bytes)\n", st.Files, st.FileBytes)
		tw.Flush()
		return exitOK
	})
}

package authcube_test

// Crash safety: TestCrashSafety runs this test binary again as a child (crashChild, from TestMain) that
// drives the engine back to back from a few goroutines, printing "try ..." before each call and
// "ack ..." after it has returned successfully; the parent kills it with SIGKILL after a seeded
// number of acknowledgements, reopens the same directory (damage accumulates over the rounds),
// settles the calls that were in flight (all or nothing) and checks that everything acknowledged
// is there: users, profiles, passwords, revocations, used reset tokens and file bytes, plus
// integrity_check and no temp files left behind.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authcube/authcube"
)

const (
	// crashEnv carries the child's directory, round and seed (URL-encoded); the child runs only
	// when it is set.
	crashEnv = "AUTHCUBE_CRASH_CHILD"
	// crashSeedEnv overrides the master seed, to replay a failing run.
	crashSeedEnv = "AUTHCUBE_CRASH_SEED"

	crashRounds  = 24 // at least 20, with and without -race
	crashWorkers = 3  // goroutines of the child issuing calls back to back
	crashMaxKill = 80 // the kill comes after 1 to crashMaxKill acknowledgements (or at "ready")
)

// crashConfig is the configuration of both the child and the parent: cheap hashing, no throttle
// and the default mail outbox (Dir/outbox), whose temp files the test checks as well.
func crashConfig(dir string) authcube.Config {
	return authcube.Config{
		Dir:      dir,
		Hashing:  cheapHashing,
		Throttle: authcube.ThrottleParams{Free: 1 << 20},
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// --- the parent ------------------------------------------------------------------------------

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash rounds re-execute the test binary")
	}
	t.Parallel()
	seed := uint64(20260102)
	if s := os.Getenv(crashSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", crashSeedEnv, err)
		}
		seed = v
	}
	t.Logf("master seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	master := rand.New(rand.NewPCG(seed, 0x5eed))
	dir := t.TempDir()
	m := newCrashModel()
	start := time.Now()
	for round := range crashRounds {
		rseed := master.Uint64()
		killAt := 1 + master.IntN(crashMaxKill)
		if master.IntN(8) == 0 {
			killAt = 0 // as soon as the engine is open, before any acknowledgement
		}
		acks := runCrashChild(t, dir, round, rseed, killAt, m)
		checkIntegrityOfCopy(t, dir, round)

		e, err := authcube.Open(ctx, crashConfig(dir))
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		checkNoTempFiles(t, dir, fmt.Sprintf("round %d", round))
		app, err := e.CreateSession(ctx)
		if err != nil {
			t.Fatalf("round %d: create session: %v", round, err)
		}
		m.resolve(t, e, app, round)
		m.verify(t, e, app, round)
		if err := e.Close(); err != nil {
			t.Errorf("round %d: close: %v", round, err)
		}
		checkIntegrity(t, filepath.Join(dir, "authcube.db"), fmt.Sprintf("round %d, after Close", round))
		if t.Failed() {
			t.Fatalf("round %d (seed %d, killed after %d acknowledgements, %d received) failed; stopping", round, rseed, killAt, acks)
		}
		t.Logf("round %2d: killed after %2d acks (%2d received); %d users, %d sessions, %d files so far",
			round, killAt, acks, len(m.users), len(m.sessions), len(m.files))
	}
	t.Logf("%d rounds in %v; %d calls were in flight at the kills, %d of the checkable ones had committed",
		crashRounds, time.Since(start).Round(time.Millisecond), m.inFlight, m.inFlightCommitted)
}

// TestCrashLeftoversAreRemovedByOpen plants what a kill in the middle of a write leaves behind
// (a blob temp file, a message temp file of the outbox) and checks that Open removes it: the
// window for it is too narrow for TestCrashSafety's kills to hit on every run.
func TestCrashLeftoversAreRemovedByOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, err := authcube.Open(ctx, crashConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "ab"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		filepath.Join("blobs", ".tmp-0123456789abcdef"),
		filepath.Join("blobs", "ab", ".tmp-0123456789abcdef"),
		// outbox.Send writes NAME.eml.tmp, then renames it: a kill in between leaves this.
		filepath.Join("outbox", time.Now().UTC().Format("20060102T150405.000Z")+"-passwordreset-0123456789abcdef.eml.tmp"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half written"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e, err = authcube.Open(ctx, crashConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	checkNoTempFiles(t, dir, "planted leftovers")
}

// runCrashChild runs one child on dir, feeds its acknowledgements to m, kills it with SIGKILL
// once it has read killAt of them (0: on "ready"), reads what the child wrote before dying, and
// returns how many acknowledgements it read in all.
func runCrashChild(t *testing.T, dir string, round int, seed uint64, killAt int, m *crashModel) int {
	t.Helper()
	spec := url.Values{"dir": {dir}, "round": {strconv.Itoa(round)}, "seed": {strconv.FormatUint(seed, 10)}}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1") // TestMain runs the child
	cmd.Env = append(os.Environ(), crashEnv+"="+spec.Encode())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	kill := func() {
		if !killed {
			killed = true
			_ = cmd.Process.Kill() // SIGKILL
		}
	}
	defer kill()
	r := bufio.NewReader(stdout)
	acks, ready := 0, false
	for {
		// A line without its newline was not written whole: no acknowledgement.
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "ready":
			ready = true
			if killAt == 0 {
				kill()
			}
		case strings.HasPrefix(line, "try "), strings.HasPrefix(line, "ack "):
			if err := m.apply(line); err != nil {
				kill()
				t.Fatalf("round %d: bad line %q: %v", round, line, err)
			}
			if strings.HasPrefix(line, "ack ") {
				if acks++; acks >= killAt {
					kill()
				}
			}
		}
	}
	werr := cmd.Wait()
	switch {
	case !killed:
		t.Fatalf("round %d: the child ended before the kill (%v):\n%s", round, werr, stderr.String())
	case cmd.ProcessState.Exited():
		t.Fatalf("round %d: the child exited on its own (%v):\n%s", round, werr, stderr.String())
	case !ready:
		t.Fatalf("round %d: the child never opened the engine:\n%s", round, stderr.String())
	case strings.Contains(stderr.String(), "crash child:"), strings.Contains(stderr.String(), "DATA RACE"):
		t.Fatalf("round %d: the child failed:\n%s", round, stderr.String())
	}
	return acks
}

// checkIntegrityOfCopy runs integrity_check on a copy of the database as the kill left it (with
// its WAL), so that the engine's own Open still finds the crashed state.
func checkIntegrityOfCopy(t *testing.T, dir string, round int) {
	t.Helper()
	cp := t.TempDir()
	for _, name := range []string{"authcube.db", "authcube.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cp, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	checkIntegrity(t, filepath.Join(cp, "authcube.db"), fmt.Sprintf("round %d, as killed", round))
}

func checkIntegrity(t *testing.T, path, when string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("%s: integrity_check: %v", when, err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: integrity_check: %v", when, err)
	}
	if !slices.Equal(got, []string{"ok"}) {
		t.Errorf("%s: integrity_check = %q, want ok", when, got)
	}
}

// checkNoTempFiles looks, after Open, for temp files an interrupted write left behind: blob temp
// files (".tmp-*") anywhere under Dir/blobs and message temp files ("*.tmp") in Dir/outbox.
func checkNoTempFiles(t *testing.T, dir, when string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			t.Errorf("%s: stray blob temp file after Open: %s", when, path)
		}
		return nil
	})
	if err != nil {
		t.Errorf("%s: walking blobs: %v", when, err)
	}
	tmps, err := filepath.Glob(filepath.Join(dir, "outbox", "*.tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tmps {
		t.Errorf("%s: stray outbox temp file after Open: %s", when, p)
	}
}

// crashModel is what the child acknowledged, as of the latest acknowledgement, and the calls
// that were in flight when it was killed (one per worker at most): these may or may not have
// committed, and resolve settles which, once, after the reopen.
type crashModel struct {
	users     map[string]*crashUser // by login
	logins    []string              // in sign-up order
	sessions  map[string]*crashSession
	tokens    []string // session tokens, in creation order
	resets    []crashReset
	files     map[string]*crashFile // by UID
	uids      []string
	pending   map[string]crashIntent // by worker, in the current round
	ackNumber int                    // acknowledgements applied, over all rounds

	inFlight, inFlightCommitted int // over all rounds, for the log
}

type crashUser struct {
	id       int64
	password string
	fullName string
	tags     []string
	ack      string // the latest acknowledgement that changed the profile, for messages
	pwAck    string // the acknowledgement that set the password
	history  []string
}

type crashSession struct {
	login   string
	revoked string // the acknowledgement that ended it; "" while it should live
	ack     string
}

type crashReset struct{ login, token, ack string }

type crashFile struct {
	sha     string
	size    int64
	deleted string // the acknowledgement of its deletion
	ack     string
}

// crashIntent is a call the child announced ("try ...") and had not acknowledged.
type crashIntent struct {
	kind string
	q    url.Values
	line string
}

func newCrashModel() *crashModel {
	return &crashModel{
		users: map[string]*crashUser{}, sessions: map[string]*crashSession{}, files: map[string]*crashFile{},
		pending: map[string]crashIntent{},
	}
}

// apply records one line of the child: "try KIND KEY=VALUE&..." before a call, "ack KIND
// KEY=VALUE&..." after it returned successfully. Every line names its worker (w).
func (m *crashModel) apply(line string) error {
	verb, rest, _ := strings.Cut(line, " ")
	kind, rest, _ := strings.Cut(rest, " ")
	q, err := url.ParseQuery(rest)
	if err != nil {
		return err
	}
	w := q.Get("w")
	switch verb {
	case "try":
		m.pending[w] = crashIntent{kind: kind, q: q, line: line}
		return nil
	case "ack":
		if in, ok := m.pending[w]; !ok || in.kind != kind {
			return errors.New("acknowledges no call in flight")
		}
		delete(m.pending, w)
		m.ackNumber++
		return m.commit(kind, q, fmt.Sprintf("ack #%d %q", m.ackNumber, line))
	}
	return errors.New("unknown line")
}

// commit applies a write known to have committed, described by ack.
func (m *crashModel) commit(kind string, q url.Values, ack string) error {
	user := func() (*crashUser, error) {
		u := m.users[q.Get("login")]
		if u == nil {
			return nil, errors.New("unknown login")
		}
		return u, nil
	}
	session := func() (*crashSession, error) {
		s := m.sessions[q.Get("token")]
		if s == nil || s.revoked != "" {
			return nil, errors.New("unknown or ended session")
		}
		return s, nil
	}
	endSessions := func(login, keep string) {
		for _, tok := range m.tokens {
			if s := m.sessions[tok]; s.login == login && s.revoked == "" && tok != keep {
				s.revoked = ack
			}
		}
	}
	switch kind {
	case "signup":
		login := q.Get("login")
		if m.users[login] != nil {
			return errors.New("login acknowledged twice")
		}
		id, err := strconv.ParseInt(q.Get("id"), 10, 64)
		if err != nil {
			return err
		}
		m.users[login] = &crashUser{id: id, password: q.Get("password"), fullName: q.Get("full_name"), tags: crashTags(q.Get("tags")), ack: ack, pwAck: ack}
		m.logins = append(m.logins, login)
	case "session":
		if _, err := user(); err != nil {
			return err
		}
		tok := q.Get("token")
		if m.sessions[tok] != nil {
			return errors.New("token acknowledged twice")
		}
		m.sessions[tok] = &crashSession{login: q.Get("login"), ack: ack}
		m.tokens = append(m.tokens, tok)
	case "update":
		u, err := user()
		if err != nil {
			return err
		}
		u.fullName, u.tags, u.ack = q.Get("full_name"), crashTags(q.Get("tags")), ack
	case "destroy", "revoke":
		s, err := session()
		if err != nil {
			return err
		}
		s.revoked = ack
	case "passwd": // a password change keeps the calling session and ends the others
		u, err := user()
		if err != nil {
			return err
		}
		if _, err := session(); err != nil {
			return err
		}
		u.password, u.pwAck = q.Get("password"), ack
		endSessions(q.Get("login"), q.Get("token"))
	case "reset-confirm": // a reset ends every session of the user and uses the token up
		u, err := user()
		if err != nil {
			return err
		}
		u.password, u.pwAck = q.Get("password"), ack
		endSessions(q.Get("login"), "")
		m.resets = append(m.resets, crashReset{login: q.Get("login"), token: q.Get("reset_token"), ack: ack})
	case "upload":
		if _, err := user(); err != nil {
			return err
		}
		uid := q.Get("uid")
		size, err := strconv.ParseInt(q.Get("size"), 10, 64)
		if err != nil {
			return err
		}
		if m.files[uid] != nil {
			return errors.New("UID acknowledged twice")
		}
		m.files[uid] = &crashFile{sha: q.Get("sha256"), size: size, ack: ack}
		m.uids = append(m.uids, uid)
	case "delfile":
		f := m.files[q.Get("uid")]
		if f == nil || f.deleted != "" {
			return errors.New("unknown or deleted file")
		}
		f.deleted = ack
	default:
		return errors.New("unknown kind")
	}
	if u := m.users[q.Get("login")]; u != nil {
		u.history = append(u.history, ack)
	}
	return nil
}

func crashTags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// resolve settles the calls in flight at the kill: each either committed whole (and joins the
// model, to be checked from now on) or not at all. A half-applied call is an error. Calls whose
// outcome the child never learnt (a new session's token, an upload's UID) need no settling.
func (m *crashModel) resolve(t *testing.T, e *authcube.Engine, app authcube.Session, round int) {
	t.Helper()
	for _, w := range slices.Sorted(maps.Keys(m.pending)) {
		in := m.pending[w]
		q := in.q
		m.inFlight++
		committed := false
		what := "unacknowledged " + strconv.Quote(in.line) + fmt.Sprintf(" (in flight at the kill of round %d)", round)
		switch in.kind {
		case "signup":
			u, err := e.UserByLogin(ctx, app.Token, q.Get("login"))
			if errors.Is(err, authcube.ErrNotFound) {
				break
			}
			if err != nil {
				t.Errorf("round %d: %s: UserByLogin: %v", round, what, err)
				break
			}
			if u.FullName != q.Get("full_name") || !sameTags(u.Tags, crashTags(q.Get("tags"))) {
				t.Errorf("round %d: %s: the user has full name %q and tags %q", round, what, u.FullName, u.Tags)
			}
			q.Set("id", strconv.FormatInt(u.ID, 10))
			committed = true
		case "update":
			cur := m.users[q.Get("login")]
			if cur == nil {
				t.Errorf("round %d: %s: unknown user", round, what)
				break
			}
			u, err := e.UserByLogin(ctx, app.Token, q.Get("login"))
			if err != nil {
				t.Errorf("round %d: %s: UserByLogin: %v", round, what, err)
				break
			}
			name, tags := cur.fullName, cur.tags
			if q.Has("full_name") {
				name = q.Get("full_name")
			}
			if q.Has("tags") {
				tags = crashTags(q.Get("tags"))
			}
			switch {
			case u.FullName == cur.fullName && sameTags(u.Tags, cur.tags):
			case u.FullName == name && sameTags(u.Tags, tags):
				q.Set("full_name", name)
				q.Set("tags", strings.Join(tags, ","))
				committed = true
			default:
				t.Errorf("round %d: %s: the user has full name %q and tags %q, neither before (%q, %q, %s) nor after",
					round, what, u.FullName, u.Tags, cur.fullName, cur.tags, cur.ack)
			}
		case "destroy", "revoke":
			_, err := e.Session(ctx, q.Get("token"))
			switch {
			case errors.Is(err, authcube.ErrUnauthorized):
				committed = true
			case err != nil:
				t.Errorf("round %d: %s: Session: %v", round, what, err)
			}
		case "passwd", "reset-confirm":
			// The new password works only if the call committed; verify then checks the rest
			// of it (the sessions it ended) or, if not, that the old password still works.
			_, err := e.SignIn(ctx, app.Token, authcube.Credentials{Login: q.Get("login"), Password: q.Get("password")})
			switch {
			case err == nil:
				committed = true
			case !errors.Is(err, authcube.ErrInvalidCredentials):
				t.Errorf("round %d: %s: SignIn: %v", round, what, err)
			}
		case "delfile":
			rc, _, err := e.OpenFile(ctx, app.Token, q.Get("uid"))
			switch {
			case errors.Is(err, authcube.ErrNotFound):
				committed = true
			case err != nil:
				t.Errorf("round %d: %s: OpenFile: %v", round, what, err)
			default:
				rc.Close()
			}
		}
		if committed {
			m.inFlightCommitted++
			if err := m.commit(in.kind, q, what); err != nil {
				t.Errorf("round %d: %s: %v", round, what, err)
			}
		}
	}
	clear(m.pending)
}

// verify checks every acknowledged write against the reopened engine e.
func (m *crashModel) verify(t *testing.T, e *authcube.Engine, app authcube.Session, round int) {
	t.Helper()
	for _, login := range m.logins {
		want := m.users[login]
		u, err := e.UserByLogin(ctx, app.Token, login)
		if err != nil {
			t.Errorf("round %d: user %s, signed up and last changed by %s: UserByLogin: %v", round, login, want.ack, err)
			continue
		}
		if u.ID != want.id {
			t.Errorf("round %d: user %s has id %d, acknowledged %d", round, login, u.ID, want.id)
		}
		if u.FullName != want.fullName || !sameTags(u.Tags, want.tags) {
			t.Errorf("round %d: user %s has full name %q and tags %q; the last acknowledgement (%s) says %q and %q",
				round, login, u.FullName, u.Tags, want.ack, want.fullName, want.tags)
		}
		if _, err := e.SignIn(ctx, app.Token, authcube.Credentials{Login: login, Password: want.password}); err != nil {
			t.Errorf("round %d: user %s does not sign in with the password of %s: %v; its writes:\n%s",
				round, login, want.pwAck, err, strings.Join(want.history, "\n"))
		}
	}
	for _, tok := range m.tokens {
		want := m.sessions[tok]
		s, err := e.Session(ctx, tok)
		switch {
		case want.revoked != "":
			if !errors.Is(err, authcube.ErrUnauthorized) {
				t.Errorf("round %d: session of %s (%s) was ended by %s, yet Session gives %v, %v",
					round, want.login, want.ack, want.revoked, s, err)
			}
		case err != nil:
			t.Errorf("round %d: session of %s (%s) is gone: %v; the user's writes:\n%s",
				round, want.login, want.ack, err, strings.Join(m.users[want.login].history, "\n"))
		case s.UserID != m.users[want.login].id:
			t.Errorf("round %d: session of %s (%s) acts for user %d", round, want.login, want.ack, s.UserID)
		}
	}
	for i, r := range m.resets {
		// A valid new password, so that only the token can be refused.
		err := e.ConfirmPasswordReset(ctx, r.token, fmt.Sprintf("crash-check-%d-%d", round, i))
		var ae *authcube.Error
		if !errors.Is(err, authcube.ErrInvalid) || !errors.As(err, &ae) || ae.Field != "reset_token" {
			t.Errorf("round %d: the reset token of %s, used by %s, is usable again: %v", round, r.login, r.ack, err)
		}
	}
	for _, uid := range m.uids {
		want := m.files[uid]
		rc, _, err := e.OpenFile(ctx, app.Token, uid)
		if want.deleted != "" {
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, authcube.ErrNotFound) {
				t.Errorf("round %d: file %s, deleted by %s: OpenFile gives %v", round, uid, want.deleted, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("round %d: file of %s: OpenFile: %v", round, want.ack, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Errorf("round %d: file of %s: reading: %v", round, want.ack, err)
			continue
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want.sha || n != want.size {
			t.Errorf("round %d: file of %s reads back %d bytes with SHA-256 %s", round, want.ack, n, got)
		}
	}
}

func sameTags(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// --- the child -------------------------------------------------------------------------------

// TestMain runs the crash child instead of the tests when TestCrashSafety started this test
// binary as its child (crashEnv set), so that no test has to skip itself in a normal run.
func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		crashChild(spec) // never returns: the parent kills it
	}
	os.Exit(m.Run())
}

// crashChild is the process TestCrashSafety kills: it opens the directory of spec and writes
// until it is killed.
func crashChild(spec string) {
	q, err := url.ParseQuery(spec)
	if err != nil {
		crashFail("spec", err)
	}
	round, err := strconv.Atoi(q.Get("round"))
	if err != nil {
		crashFail("spec", err)
	}
	seed, err := strconv.ParseUint(q.Get("seed"), 10, 64)
	if err != nil {
		crashFail("spec", err)
	}
	dir := q.Get("dir")
	e, err := authcube.Open(ctx, crashConfig(dir))
	if err != nil {
		crashFail("open", err)
	}
	c := &crashChildState{e: e, round: round, outbox: filepath.Join(dir, "outbox"), seen: map[string]bool{}}
	// Reset mail of earlier rounds is not this child's.
	entries, err := os.ReadDir(c.outbox)
	if err != nil {
		crashFail("outbox", err)
	}
	for _, ent := range entries {
		c.seen[ent.Name()] = true
	}
	c.print("ready")
	for w := range crashWorkers {
		var s [32]byte
		for i := range 8 {
			s[i] = byte(seed >> (8 * i))
		}
		s[8] = byte(w)
		go c.worker(w, rand.NewChaCha8(s))
	}
	select {} // until killed
}

// crashFail reports an unexpected error of the child, which the parent turns into a failure.
func crashFail(what string, err error) {
	fmt.Fprintf(os.Stderr, "crash child: %s: %v\n", what, err)
	os.Exit(2)
}

type crashChildState struct {
	e      *authcube.Engine
	round  int
	outbox string

	outMu sync.Mutex
	acks  atomic.Int64

	seenMu sync.Mutex
	seen   map[string]bool // outbox files not to look at for reset tokens
}

// print writes one line to stdout in a single write, so lines of the workers never mix.
func (c *crashChildState) print(line string) {
	c.outMu.Lock()
	_, err := os.Stdout.WriteString(line + "\n")
	c.outMu.Unlock()
	if err != nil {
		os.Exit(3) // the parent is gone
	}
}

// line prints "VERB KIND w=W&KEY=VALUE&...".
func (c *crashChildState) line(verb string, w int, kind string, kv ...string) {
	v := url.Values{"w": {strconv.Itoa(w)}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	c.print(verb + " " + kind + " " + v.Encode())
}

// try announces a call about to be made, with what it will write.
func (c *crashChildState) try(w int, kind string, kv ...string) { c.line("try", w, kind, kv...) }

// ack acknowledges a call that has returned successfully.
func (c *crashChildState) ack(w int, kind string, kv ...string) {
	c.line("ack", w, kind, kv...)
	if c.acks.Add(1) > 100_000 {
		os.Exit(4) // never killed: give up rather than run forever
	}
}

type crashChildUser struct {
	login, email, password string
	sessions               []authcube.Session
	files                  []string
}

var (
	crashNames  = []string{"Ann Lee", "Bob Stone", "Marvin Simon", "Zoë Ångström", "Chen Wei", "Olu Ade"}
	crashTagSet = []string{"iphone", "android", "apple", "beta", "staff", "vip", "eu", "us"}
)

// worker issues calls back to back on users of its own (so the order of its lines is the order
// of each user's writes), until the process is killed. Names and tags are in canonical form, so
// what a call will write is known before it returns.
func (c *crashChildState) worker(w int, src *rand.ChaCha8) {
	rng := rand.New(src)
	app, err := c.e.CreateSession(ctx)
	if err != nil {
		crashFail("create session", err)
	}
	password := func() string { return fmt.Sprintf("pw-%016x", rng.Uint64()) }
	name := func() string { return fmt.Sprintf("%s %d", crashNames[rng.IntN(len(crashNames))], rng.IntN(1000)) }
	tags := func() []string {
		var ts []string
		for _, tag := range crashTagSet {
			if rng.IntN(3) == 0 {
				ts = append(ts, tag)
			}
		}
		return ts
	}
	var users []*crashChildUser
	for n := 0; ; n++ {
		if len(users) < 2 || rng.IntN(10) == 0 {
			login := fmt.Sprintf("r%dw%du%d", c.round, w, len(users))
			nu := authcube.NewUser{Login: login, Email: login + "@crash.example", Password: password(), FullName: name(), Tags: tags()}
			kv := []string{"login", login, "password", nu.Password, "full_name", nu.FullName, "tags", strings.Join(nu.Tags, ",")}
			c.try(w, "signup", kv...)
			u, err := c.e.SignUp(ctx, app.Token, nu)
			if err != nil {
				crashFail("sign up", err)
			}
			users = append(users, &crashChildUser{login: login, email: nu.Email, password: nu.Password})
			c.ack(w, "signup", append(kv, "id", strconv.FormatInt(u.ID, 10), "full_name", u.FullName, "tags", strings.Join(u.Tags, ","))...)
			continue
		}
		u := users[rng.IntN(len(users))]
		r := rng.IntN(100)
		if len(u.sessions) == 0 || r < 18 && len(u.sessions) < 6 {
			c.try(w, "session", "login", u.login)
			s, err := c.e.CreateUserSession(ctx, authcube.Credentials{Login: u.login, Password: u.password})
			if err != nil {
				crashFail("create user session", err)
			}
			u.sessions = append(u.sessions, s)
			c.ack(w, "session", "login", u.login, "token", s.Token)
			continue
		}
		i := rng.IntN(len(u.sessions))
		s := u.sessions[i]
		switch {
		case r < 38:
			var uu authcube.UserUpdate
			kv := []string{"login", u.login}
			if rng.IntN(3) != 1 {
				uu.FullName = new(name())
				kv = append(kv, "full_name", *uu.FullName)
			}
			if rng.IntN(3) != 0 || uu.FullName == nil {
				uu.Tags = new(tags())
				kv = append(kv, "tags", strings.Join(*uu.Tags, ","))
			}
			c.try(w, "update", kv...)
			got, err := c.e.UpdateUser(ctx, s.Token, uu)
			if err != nil {
				crashFail("update user", err)
			}
			c.ack(w, "update", "login", u.login, "full_name", got.FullName, "tags", strings.Join(got.Tags, ","))
		case r < 48:
			c.try(w, "destroy", "login", u.login, "token", s.Token)
			if err := c.e.DestroySession(ctx, s.Token); err != nil {
				crashFail("destroy session", err)
			}
			u.sessions = slices.Delete(u.sessions, i, i+1)
			c.ack(w, "destroy", "login", u.login, "token", s.Token)
		case r < 56 && len(u.sessions) > 1:
			j := (i + 1 + rng.IntN(len(u.sessions)-1)) % len(u.sessions)
			other := u.sessions[j]
			c.try(w, "revoke", "login", u.login, "token", other.Token)
			if err := c.e.RevokeSession(ctx, s.Token, other.ID); err != nil {
				crashFail("revoke session", err)
			}
			u.sessions = slices.Delete(u.sessions, j, j+1)
			c.ack(w, "revoke", "login", u.login, "token", other.Token)
		case r < 61:
			pw := password()
			kv := []string{"login", u.login, "password", pw, "token", s.Token}
			c.try(w, "passwd", kv...)
			if _, err := c.e.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: &pw, OldPassword: u.password}); err != nil {
				crashFail("change password", err)
			}
			u.password, u.sessions = pw, []authcube.Session{s}
			c.ack(w, "passwd", kv...)
		case r < 68:
			if err := c.e.ResetPassword(ctx, app.Token, u.email); err != nil {
				crashFail("reset password", err)
			}
			if err := c.e.FlushMail(ctx); err != nil {
				crashFail("flush mail", err)
			}
			token := c.resetToken(u.email)
			pw := password()
			kv := []string{"login", u.login, "password", pw, "reset_token", token}
			c.try(w, "reset-confirm", kv...)
			if err := c.e.ConfirmPasswordReset(ctx, token, pw); err != nil {
				crashFail("confirm password reset", err)
			}
			u.password, u.sessions = pw, nil
			c.ack(w, "reset-confirm", kv...)
		case r < 92 || len(u.files) == 0:
			size := rng.IntN(32 << 10)
			if rng.IntN(8) == 0 {
				size = 256<<10 + rng.IntN(768<<10) // long enough for a kill to land mid-write
			}
			data := make([]byte, size)
			_, _ = src.Read(data)
			sum := sha256.Sum256(data)
			kv := []string{"login", u.login, "sha256", hex.EncodeToString(sum[:]), "size", strconv.Itoa(size)}
			c.try(w, "upload", kv...)
			f, err := c.e.UploadFile(ctx, s.Token, authcube.NewFile{Name: fmt.Sprintf("f%d.bin", n)}, bytes.NewReader(data))
			if err != nil {
				crashFail("upload file", err)
			}
			u.files = append(u.files, f.UID)
			c.ack(w, "upload", append(kv, "uid", f.UID)...)
		default:
			j := rng.IntN(len(u.files))
			uid := u.files[j]
			c.try(w, "delfile", "login", u.login, "uid", uid)
			if err := c.e.DeleteFile(ctx, s.Token, uid); err != nil {
				crashFail("delete file", err)
			}
			u.files = slices.Delete(u.files, j, j+1)
			c.ack(w, "delfile", "login", u.login, "uid", uid)
		}
	}
}

var crashResetToken = regexp.MustCompile(`(?m)^([A-Za-z0-9_-]{43})\r?$`)

// resetToken finds the reset mail to email that the outbox received after FlushMail, and
// returns its token.
func (c *crashChildState) resetToken(email string) string {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	entries, err := os.ReadDir(c.outbox)
	if err != nil {
		crashFail("outbox", err)
	}
	for _, ent := range entries {
		name := ent.Name()
		if c.seen[name] || !strings.Contains(name, "-passwordreset-") || !strings.HasSuffix(name, ".eml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c.outbox, name))
		if err != nil {
			crashFail("outbox", err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			crashFail("outbox", err)
		}
		if msg.Header.Get("To") != email {
			continue
		}
		body, err := io.ReadAll(msg.Body) // 7bit: the text as written
		if err != nil {
			crashFail("outbox", err)
		}
		m := crashResetToken.FindSubmatch(body)
		if m == nil {
			crashFail("outbox", fmt.Errorf("no token in %s", name))
		}
		c.seen[name] = true
		return string(m[1])
	}
	crashFail("outbox", fmt.Errorf("no reset mail to %s", email))
	return ""
}

// Package authtest makes programs that embed authcube fast and deterministic to test: an
// engine in a fresh temporary directory, a fake clock, a seeded random source (the same test
// gives the same tokens and ids, run after run), cheap password hashing, and a Mailbox that
// captures mail instead of sending it.
//
//	func TestProfilePage(t *testing.T) {
//		env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann", Password: "ann's password"}))
//		_, s := env.SignedIn(t, "ann")
//		... call your handler with s.Token ...
//		env.Clock.Advance(3 * time.Hour) // the session has expired, without sleeping
//	}
package authtest

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authcube/authcube"
)

// Password is the password SignedIn gives the users it signs up.
const Password = "authtest password"

// Start is where every Env's clock starts.
var Start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// CheapHashing is the argon2id cost authtest uses: a few microseconds instead of ~20 ms. Never
// use it outside tests.
var CheapHashing = authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// QueryTimeout is the time budget of a query in an Env: a minute, where the engine's default is
// a second. Test the budget itself with WithConfig.
const QueryTimeout = time.Minute

// Env is an engine under test with its clock and mailbox.
type Env struct {
	Engine  *authcube.Engine
	Dir     string
	Clock   *Clock
	Mailbox *Mailbox

	cfg authcube.Config
}

// Option changes how New builds an Env.
type Option func(*options)

type options struct {
	seed   uint64
	clock  *Clock
	config []func(*authcube.Config)
	users  []authcube.NewUser
}

// WithConfig lets f change the engine's Config after authtest has filled it (Dir, Now, Rand,
// Hashing, Mailer, Logger are set; f may override any of them).
func WithConfig(f func(*authcube.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// WithClock makes the Env's engine run on c (Env.Clock is then c) instead of a new Clock at
// Start: one clock for several Envs, or a clock that a test gave to something else (an identity
// provider's tokens) before the Env was made.
func WithClock(c *Clock) Option { return func(o *options) { o.clock = c } }

// WithSeed sets the seed of the random source; the default is 1. Tokens, session ids and salts
// depend only on the seed and the calls made.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed = seed } }

// WithUsers signs these users up when the Env is made.
func WithUsers(users ...authcube.NewUser) Option {
	return func(o *options) { o.users = append(o.users, users...) }
}

// New returns an Env for t: a fresh directory under t.TempDir(), a fake clock at Start (or the
// one of WithClock), a seeded random source, cheap hashing, a Mailbox, and a query time budget
// (Config.QueryTimeout) of QueryTimeout, since SQLite runs ten to fifty times slower under the
// race detector and a wall-clock budget must not make tests flaky. The engine is closed when
// the test ends. Failures to open or to sign users up fail the test.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := options{seed: 1}
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = NewClock(Start)
	}
	env := &Env{Dir: t.TempDir(), Clock: o.clock, Mailbox: &Mailbox{}}
	var seed [32]byte
	for i := range 8 {
		seed[i] = byte(o.seed >> (8 * i))
	}
	env.cfg = authcube.Config{
		Dir:     env.Dir,
		Now:     env.Clock.Now,
		Rand:    rand.NewChaCha8(seed),
		Hashing: CheapHashing,
		Mailer:  env.Mailbox,
		Logger:  slog.New(slog.DiscardHandler),
	}
	env.cfg.QueryTimeout = QueryTimeout
	for _, f := range o.config {
		f(&env.cfg)
	}
	env.open(t)
	if len(o.users) > 0 {
		app, err := env.Engine.CreateSession(context.Background())
		if err != nil {
			t.Fatalf("authtest: %v", err)
		}
		for _, u := range o.users {
			if _, err := env.Engine.SignUp(context.Background(), app.Token, u); err != nil {
				t.Fatalf("authtest: signing up %q: %v", u.Login+u.Email, err)
			}
		}
		if err := env.Engine.DestroySession(context.Background(), app.Token); err != nil {
			t.Fatalf("authtest: %v", err)
		}
	}
	return env
}

// template holds an empty, migrated database, built once per process: copying it makes a new
// Env several times faster than migrating a new database.
var template = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "authtest-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e, err := authcube.Open(context.Background(), authcube.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, "authcube.db"))
})

func (env *Env) open(t testing.TB) {
	t.Helper()
	db := filepath.Join(env.Dir, "authcube.db")
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) && env.cfg.Dir == env.Dir && env.cfg.Store == nil {
		if b, err := template(); err == nil {
			if err := os.WriteFile(db, b, 0o600); err != nil {
				t.Fatalf("authtest: %v", err)
			}
		}
	}
	e, err := authcube.Open(context.Background(), env.cfg)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	env.Engine = e
	env.Mailbox.attach(e)
	t.Cleanup(func() { e.Close() })
}

// Restart closes the engine and opens the same directory again, keeping the clock, the random
// source and the mailbox: what survives a restart of the program survives this.
func (env *Env) Restart(t testing.TB) {
	t.Helper()
	if err := env.Engine.Close(); err != nil {
		t.Fatalf("authtest: closing: %v", err)
	}
	env.open(t)
}

// SignedIn returns the user with the login and a new user session for it, signing the user up
// first (with Password) if needed. A user signed up another way must have Password as its
// password.
func (env *Env) SignedIn(t testing.TB, login string) (authcube.User, authcube.Session) {
	t.Helper()
	ctx := context.Background()
	s, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: login, Password: Password})
	if err != nil {
		app, err := env.Engine.CreateSession(ctx)
		if err != nil {
			t.Fatalf("authtest: %v", err)
		}
		if _, err := env.Engine.SignUp(ctx, app.Token, authcube.NewUser{Login: login, Password: Password}); err != nil {
			t.Fatalf("authtest: signing up %q: %v", login, err)
		}
		_ = env.Engine.DestroySession(ctx, app.Token)
		if s, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: login, Password: Password}); err != nil {
			t.Fatalf("authtest: signing in %q: %v", login, err)
		}
	}
	u, err := env.Engine.User(ctx, s.Token, s.UserID)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	return u, s
}

// Clock is a fake clock: time moves only when the test says so. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock standing at start, for tests that need a fake clock without an Env
// (an identity provider's tokens, a Config of their own). Every Env has one, at Start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t. Moving it backwards is allowed but the engine does not defend
// against it (a session may then live longer than it should).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Mailbox is a Mailer that keeps every message. Its readers first wait for the engine's mail
// queue (Engine.FlushMail): mail is sent in the background, and a test should see what its
// calls so far have sent. Safe for concurrent use.
type Mailbox struct {
	mu     sync.Mutex
	msgs   []authcube.Message
	engine *authcube.Engine
}

func (m *Mailbox) attach(e *authcube.Engine) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.engine = e
}

// flush waits for the engine's queued mail, when an open engine is attached.
func (m *Mailbox) flush() {
	m.mu.Lock()
	e := m.engine
	m.mu.Unlock()
	if e != nil {
		_ = e.FlushMail(context.Background()) // ErrClosed: Close flushed already
	}
}

// Send keeps m.
func (m *Mailbox) Send(_ context.Context, msg authcube.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

// Messages returns the messages sent so far, oldest first.
func (m *Mailbox) Messages() []authcube.Message {
	m.flush()
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]authcube.Message(nil), m.msgs...)
}

// Last returns the latest message, and false when there is none.
func (m *Mailbox) Last() (authcube.Message, bool) {
	m.flush()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.msgs) == 0 {
		return authcube.Message{}, false
	}
	return m.msgs[len(m.msgs)-1], true
}

// LastResetToken returns the token of the latest password-reset message, or "" when none was
// sent.
func (m *Mailbox) LastResetToken() string {
	m.flush()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].Kind == authcube.MessagePasswordReset {
			return m.msgs[i].Token
		}
	}
	return ""
}

package authcube_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// fakeClock is the engine's clock in tests: time moves only when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cheapHashing keeps tests fast; Open logs (to the discarded logger) that it is weak.
var cheapHashing = authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// seeded returns a deterministic random source.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// events records the events an engine emits.
type events struct {
	mu   sync.Mutex
	list []authcube.Event
}

func (r *events) add(e authcube.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, e)
}

func (r *events) kinds() []authcube.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []authcube.EventKind
	for _, e := range r.list {
		ks = append(ks, e.Kind)
	}
	return ks
}

func (r *events) last() authcube.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.list[len(r.list)-1]
}

// testEngine is an engine in a temporary directory with a fake clock, a seeded random source
// and cheap hashing.
type testEngine struct {
	*authcube.Engine
	cfg    authcube.Config
	clock  *fakeClock
	events *events
}

func newTestEngine(t testing.TB, mods ...func(*authcube.Config)) *testEngine {
	t.Helper()
	te := &testEngine{clock: newClock(), events: &events{}}
	te.cfg = authcube.Config{
		Dir:     t.TempDir(),
		Hashing: cheapHashing,
		Now:     te.clock.Now,
		Rand:    seeded(1),
		Logger:  slog.New(slog.DiscardHandler),
		OnEvent: te.events.add,
	}
	te.cfg.QueryTimeout = time.Minute // as authtest: the race detector slows SQLite tenfold
	for _, m := range mods {
		m(&te.cfg)
	}
	te.open(t)
	return te
}

func (te *testEngine) open(t testing.TB) {
	t.Helper()
	e, err := authcube.Open(context.Background(), te.cfg)
	require.NoError(t, err)
	te.Engine = e
	t.Cleanup(func() { e.Close() })
}

// restart closes the engine and opens its directory again.
func (te *testEngine) restart(t testing.TB) {
	t.Helper()
	require.NoError(t, te.Close())
	te.open(t)
}

func (te *testEngine) appSession(t testing.TB) authcube.Session {
	t.Helper()
	s, err := te.CreateSession(context.Background())
	require.NoError(t, err)
	return s
}

const testPassword = "correct horse battery"

// signUp creates a user with testPassword.
func (te *testEngine) signUp(t testing.TB, login string) authcube.User {
	t.Helper()
	u, err := te.SignUp(context.Background(), te.appSession(t).Token, authcube.NewUser{Login: login, Password: testPassword})
	require.NoError(t, err)
	return u
}

// requireCode asserts that err is an *authcube.Error matching sentinel, with the field given.
func requireCode(t testing.TB, err error, sentinel error, field string) *authcube.Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, sentinel, "got %v", err)
	var ae *authcube.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, field, ae.Field, "field of %v", err)
	return ae
}

package authcube_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// newClock returns a fake clock at authtest.Start: time moves only when the test says so.
func newClock() *authtest.Clock { return authtest.NewClock(authtest.Start) }

// cheapHashing keeps tests fast; Open logs (to the discarded logger) that it is weak.
var cheapHashing = authtest.CheapHashing

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

// testEngine is an authtest.Env's engine (a temporary directory, a fake clock, a seeded random
// source, cheap hashing) with the default mail outbox in Dir/outbox instead of authtest's
// Mailbox, the events it emits recorded, and its Config at hand to open the directory again.
type testEngine struct {
	*authcube.Engine
	cfg    authcube.Config
	clock  *authtest.Clock
	events *events
}

// newTestEngine opens a testEngine through authtest.New; mods change its Config last.
func newTestEngine(t testing.TB, mods ...func(*authcube.Config)) *testEngine {
	t.Helper()
	te := &testEngine{clock: newClock(), events: &events{}}
	env := authtest.New(t, authtest.WithClock(te.clock), authtest.WithConfig(func(c *authcube.Config) {
		c.Mailer = nil // the outbox, as a program gets by default
		c.OnEvent = te.events.add
		for _, m := range mods {
			m(c)
		}
		te.cfg = *c
	}))
	te.Engine = env.Engine
	return te
}

// open opens te.cfg (again), after the test closed the engine and perhaps changed te.cfg.
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

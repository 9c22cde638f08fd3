package authcube_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
	"github.com/authcube/authcube/store/storetest"
)

// counted wraps te's store so that every store call is counted by method.
func counted(te *testEngine) *callCounter {
	c := &callCounter{calls: map[string]int{}}
	authcube.WrapStore(te.Engine, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: c.count}
	})
	return c
}

type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) count(method string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
	return nil
}

func (c *callCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

func TestCachedSessionCostsNoStoreCall(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	counted(te)
	_, s := te.signedIn(t, "marvin18")
	te.restart(t) // an empty cache
	calls := counted(te)

	_, err := te.Session(ctx, s.Token)
	require.NoError(t, err)
	assert.Equal(t, 1, calls.calls["Session"], "a miss reads the row once")
	before := calls.total()
	for range 100 {
		te.clock.Advance(time.Second)
		got, err := te.Session(ctx, s.Token)
		require.NoError(t, err)
		assert.Equal(t, te.clock.Now(), got.UpdatedAt)
	}
	assert.Equal(t, before, calls.total(), "a live cached token costs no store call")
	page, err := te.ListUsers(ctx, s.Token, authcube.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Total)
	assert.Equal(t, before+1, calls.total(), "a read call makes only its query")
}

func TestActivityIsWrittenBackAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, s := te.signedIn(t, "marvin18")
	te.clock.Advance(90 * time.Minute)
	_, err := te.Session(ctx, s.Token)
	require.NoError(t, err)
	at := te.clock.Now()
	require.NoError(t, authcube.FlushActivity(te.Engine))
	calls := counted(te)
	require.NoError(t, authcube.FlushActivity(te.Engine))
	assert.Zero(t, calls.calls["RecordActivity"]+calls.calls["TouchSession"], "nothing left to write")
	te.restart(t)
	te.clock.Advance(2*time.Hour - time.Millisecond)
	got, err := te.Session(ctx, s.Token)
	require.NoError(t, err, "the request 90 minutes in was written back")
	u, err := te.User(ctx, s.Token, got.UserID)
	require.NoError(t, err)
	assert.Equal(t, at, u.LastRequestAt, "the user's last request was written back too")
}

// Evicted entries park their activity: a request made while the cache was full is not lost.
func TestEvictionKeepsActivity(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.SessionCacheSize = 64 }) // one per shard
	tokens := make([]string, 200)
	for i := range tokens {
		tokens[i] = te.appSession(t).Token
	}
	te.clock.Advance(time.Hour)
	for _, tok := range tokens { // each request evicts another session's entry
		_, err := te.Session(ctx, tok)
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, authcube.CachedSessions(te.Engine), 64)
	te.clock.Advance(90 * time.Minute) // 2h30m after creation, 1h30m after the last request
	for i, tok := range tokens {
		_, err := te.Session(ctx, tok)
		require.NoError(t, err, "session %d", i)
	}
	te.restart(t)
	te.clock.Advance(119 * time.Minute)
	for i, tok := range tokens {
		_, err := te.Session(ctx, tok)
		require.NoError(t, err, "session %d after restart", i)
	}
}

// S16: a fill racing a destroy never revives the session. The interleaving is forced: a cache
// miss reads the row, then the destroy commits and drops the cache entry, then the miss tries
// to install what it read.
func TestCacheFillRacingDestroyNeverRevives(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	for _, how := range []string{"DestroySession", "SignOut"} {
		var s authcube.Session
		if how == "SignOut" {
			_, s = te.signedIn(t, "marvin18")
		} else {
			s = te.appSession(t)
		}
		te.restart(t) // the session is only in the store: the next call fills the cache
		var armed atomic.Bool
		armed.Store(true)
		authcube.WrapStore(te.Engine, func(st store.Store) store.Store {
			return &afterSession{Store: st, after: func() {
				if armed.CompareAndSwap(true, false) {
					// The row was read; now the session ends before the read is installed.
					if how == "SignOut" {
						require.NoError(t, te.SignOut(ctx, s.Token))
					} else {
						require.NoError(t, te.DestroySession(ctx, s.Token))
					}
				}
			}}
		})
		// The call that raced may answer either way: it began before the session ended.
		_, err := te.Session(ctx, s.Token)
		require.False(t, armed.Load(), "the interleaving happened")
		if err != nil {
			requireCode(t, err, authcube.ErrUnauthorized, "")
		}
		got, err := te.Session(ctx, s.Token)
		if how == "DestroySession" {
			requireCode(t, err, authcube.ErrUnauthorized, "") // not revived by the fill
		} else {
			require.NoError(t, err)
			assert.False(t, got.IsUser(), "the signed-out session does not act for the user again")
		}
		te.restart(t)
		got, err = te.Session(ctx, s.Token)
		if how == "DestroySession" {
			requireCode(t, err, authcube.ErrUnauthorized, "")
		} else {
			require.NoError(t, err)
			assert.False(t, got.IsUser())
		}
	}
}

func TestSessionsAndRevokeSession(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, phone := te.signedIn(t, "marvin18")
	te.clock.Advance(time.Minute)
	laptop, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	_, bobS := te.signedIn(t, "bob18")
	te.clock.Advance(time.Minute)
	_, err = te.Session(ctx, phone.Token) // activity only in memory
	require.NoError(t, err)

	list, err := te.Sessions(ctx, laptop.Token)
	require.NoError(t, err)
	require.Len(t, list, 2, "the user's sessions only")
	assert.Equal(t, phone.ID, list[0].ID, "oldest first")
	assert.Equal(t, laptop.ID, list[1].ID)
	assert.Equal(t, te.clock.Now(), list[0].UpdatedAt, "cached activity merged")
	for _, s := range list {
		assert.Empty(t, s.Token, "no tokens")
	}

	requireCode(t, te.RevokeSession(ctx, laptop.Token, bobS.ID), authcube.ErrNotFound, "")
	requireCode(t, te.RevokeSession(ctx, laptop.Token, "no-such-id"), authcube.ErrNotFound, "")
	_, err = te.Session(ctx, bobS.Token)
	require.NoError(t, err, "another user's session is untouched")

	require.NoError(t, te.RevokeSession(ctx, laptop.Token, phone.ID))
	assert.Equal(t, authcube.SessionRevoked, te.events.last().Kind)
	_, err = te.Session(ctx, phone.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
	require.NoError(t, te.RevokeSession(ctx, laptop.Token, laptop.ID), "revoking the caller's own session")
	_, err = te.Session(ctx, laptop.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")

	app := te.appSession(t)
	_, err = te.Sessions(ctx, app.Token)
	requireCode(t, err, authcube.ErrForbidden, "")
	requireCode(t, te.RevokeSession(ctx, app.Token, phone.ID), authcube.ErrForbidden, "")
}

// S14: application sessions may not write.
func TestApplicationSessionsAreReadOnly(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "marvin18")
	app := te.appSession(t)
	for name, call := range map[string]func() error{
		"UpdateUser": func() error {
			_, err := te.UpdateUser(ctx, app.Token, authcube.UserUpdate{FullName: new("x")})
			return err
		},
		"DeleteUser":    func() error { return te.DeleteUser(ctx, app.Token) },
		"Sessions":      func() error { _, err := te.Sessions(ctx, app.Token); return err },
		"RevokeSession": func() error { return te.RevokeSession(ctx, app.Token, app.ID) },
	} {
		requireCode(t, call(), authcube.ErrForbidden, "")
		_ = name
	}
}

func TestSweeperDeletesExpiredSessions(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, s := te.signedIn(t, "marvin18")
	old := te.appSession(t)
	te.clock.Advance(time.Hour)
	_, err := te.Session(ctx, s.Token) // s stays alive
	require.NoError(t, err)
	te.clock.Advance(61 * time.Minute) // old: 2h01m idle, within the 2-minute grace; s: 61m
	require.NoError(t, authcube.Sweep(te.Engine))
	assert.Equal(t, 3, sessionRows(t, te), "idle sessions wait out the grace")
	te.clock.Advance(2 * time.Minute) // old: 2h03m idle, past the grace
	require.NoError(t, authcube.Sweep(te.Engine))
	assert.Equal(t, 1, sessionRows(t, te), "expired sessions are deleted; the live one stays")
	_, err = te.Session(ctx, s.Token)
	require.NoError(t, err)
	_, err = te.Session(ctx, old.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

// sessionRows counts the stored sessions, reading the database beside the engine.
func sessionRows(t *testing.T, te *testEngine) int {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(te.cfg.Dir, "authcube.db")+"?_pragma=query_only(1)")
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n))
	return n
}

// S9: 500 concurrent wrong passwords with Free=10 verify at most 10; the back-off doubles up to
// Max and never locks for good; success resets it.
func TestThrottling(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Rand = nil
		c.Throttle = authcube.ThrottleParams{Free: 10, Base: time.Second, Max: 8 * time.Second}
	})
	te.signUp(t, "marvin18")
	app := te.appSession(t)
	verifies := authcube.VerifyCount(te.Engine)
	var wg sync.WaitGroup
	var throttled, failed atomic.Int64
	for range 500 {
		wg.Go(func() {
			_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Login: "MARVIN18", Password: "wrong password"})
			switch {
			case errors.Is(err, authcube.ErrThrottled):
				var ae *authcube.Error
				if errors.As(err, &ae) && ae.RetryAfter <= 0 {
					t.Error("ErrThrottled without RetryAfter")
				}
				throttled.Add(1)
			case errors.Is(err, authcube.ErrInvalidCredentials):
				failed.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, authcube.VerifyCount(te.Engine)-verifies, int64(10), "at most Free verifies")
	assert.Equal(t, int64(500), throttled.Load()+failed.Load())
	assert.Positive(t, throttled.Load())

	// Now locked out for Base; each further failure doubles it, up to Max.
	_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
	ae := requireCode(t, err, authcube.ErrThrottled, "")
	assert.Equal(t, time.Second, ae.RetryAfter)
	assert.Equal(t, authcube.SignInThrottled, te.events.last().Kind)
	for _, want := range []time.Duration{2, 4, 8, 8} {
		te.clock.Advance(ae.RetryAfter)
		_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "wrong again"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
		ae = requireCode(t, err, authcube.ErrThrottled, "")
		assert.Equal(t, want*time.Second, ae.RetryAfter)
	}

	// The state survives a restart.
	te.restart(t)
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
	requireCode(t, err, authcube.ErrThrottled, "")

	// After the back-off the right password works and resets the count.
	te.clock.Advance(8 * time.Second)
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	for range 9 {
		_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "wrong"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
}

func TestThrottlingCoversUnknownAccountsAndOldPasswords(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.Throttle = authcube.ThrottleParams{Free: 2} })
	app := te.appSession(t)
	for range 2 {
		_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Email: "Nobody@Example.org", Password: "guess guess"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Email: "nobody@example.org", Password: "guess guess"})
	requireCode(t, err, authcube.ErrThrottled, "") // keyed by the canonical email

	// S7: wrong old passwords count as failed sign-ins of the login.
	_, s := te.signedIn(t, "marvin18")
	for range 2 {
		_, err := te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password"), OldPassword: "not it"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "old_password")
	}
	_, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password"), OldPassword: testPassword})
	requireCode(t, err, authcube.ErrThrottled, "")
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	requireCode(t, err, authcube.ErrThrottled, "")
}

// S5: a hash made with weaker parameters is upgraded at the next sign-in.
func TestRehashOnSignIn(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "marvin18")
	require.NoError(t, te.Close())
	te.cfg.Hashing = authcube.HashParams{MemoryKiB: 128, Iterations: 2, Parallelism: 1}
	te.open(t)
	assert.Contains(t, storedHash(t, te, "marvin18"), "m=64,t=1,p=1")
	_, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	assert.Contains(t, storedHash(t, te, "marvin18"), "m=128,t=2,p=1", "upgraded")
	hashes := authcube.HashCount(te.Engine)
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	assert.Equal(t, hashes, authcube.HashCount(te.Engine), "only once")
}

// S5: a rehash racing a password change never undoes the change.
func TestRehashLosesToPasswordChange(t *testing.T) {
	t.Parallel()
	for round := range 10 {
		te := newTestEngine(t)
		_, s := te.signedIn(t, "marvin18")
		require.NoError(t, te.Close())
		te.cfg.Hashing = authcube.HashParams{MemoryKiB: 128, Iterations: 1, Parallelism: 1}
		te.open(t)
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _ = te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
		})
		wg.Go(func() {
			_, err := te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("the changed password"), OldPassword: testPassword})
			assert.NoError(t, err, "round %d", round)
		})
		wg.Wait()
		_, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "the changed password"})
		require.NoError(t, err, "round %d: the change survives", round)
	}
}

func storedHash(t *testing.T, te *testEngine, login string) string {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(te.cfg.Dir, "authcube.db")+"?_pragma=query_only(1)")
	require.NoError(t, err)
	defer db.Close()
	var h string
	require.NoError(t, db.QueryRow(`SELECT password_hash FROM users WHERE login_canon = ?`, login).Scan(&h))
	return h
}

// A Config.Store gets no cache: every request reads the store.
func TestCustomStoreRunsWithoutCache(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, s := te.signedIn(t, "marvin18")
	c := &callCounter{calls: map[string]int{}}
	e := onCustomStore(t, te, func(inner store.Store) store.Store { return &storetest.Hooked{Inner: inner, Before: c.count} })
	for range 3 {
		_, err := e.Session(ctx, s.Token)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, c.calls["Session"])
	assert.Equal(t, 3, c.calls["TouchSession"])
	require.NoError(t, e.DestroySession(ctx, s.Token))
	_, err := e.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

// openStore opens the SQLite store of a directory no engine holds.
func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "authcube.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// S16: a sign-in whose password check races a password change yields no session: the session
// write re-checks the hash it verified.
func TestSignInRacingPasswordChangeYieldsNoSession(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"CreateSession", "SignInSession"} {
		t.Run(method, func(t *testing.T) {
			te := newTestEngine(t)
			_, owner := te.signedIn(t, "marvin18")
			app := te.appSession(t)
			var armed atomic.Bool
			armed.Store(true)
			authcube.WrapStore(te.Engine, func(s store.Store) store.Store {
				return &storetest.Hooked{Inner: s, Before: func(m string) error {
					if m == method && armed.CompareAndSwap(true, false) {
						// The password check passed; now the owner changes the password.
						_, err := te.UpdateUser(ctx, owner.Token, authcube.UserUpdate{Password: new("the owner's new one"), OldPassword: testPassword})
						require.NoError(t, err)
					}
					return nil
				}}
			})
			creds := authcube.Credentials{Login: "marvin18", Password: testPassword}
			if method == "CreateSession" {
				s, err := te.CreateUserSession(ctx, creds)
				require.Error(t, err)
				assert.Empty(t, s.Token)
			} else {
				_, err := te.SignIn(ctx, app.Token, creds)
				require.Error(t, err)
				got, err := te.Session(ctx, app.Token)
				require.NoError(t, err)
				assert.False(t, got.IsUser(), "the session was not upgraded")
			}
			_, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "the owner's new one"})
			require.NoError(t, err)
		})
	}
}

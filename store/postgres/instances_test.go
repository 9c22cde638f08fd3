package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/postgres"
)

// instances opens n engines, with no Dir, on one fresh schema, each configured by cfg (when not
// nil), and returns them with the schema's name.
func instances(t *testing.T, n int, cfg func(*authcube.Config)) ([]*authcube.Engine, string) {
	t.Helper()
	url := testURL(t)
	schema := freshSchema(t, url)
	var es []*authcube.Engine
	for range n {
		st, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 8})
		require.NoError(t, err)
		blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
		require.NoError(t, err)
		c := authcube.Config{
			Store: st, Blobs: blobs, Mailer: &authtest.Mailbox{},
			Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
			Logger:  slog.New(slog.DiscardHandler),
		}
		if cfg != nil {
			cfg(&c)
		}
		e, err := authcube.Open(t.Context(), c)
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		es = append(es, e)
	}
	return es, schema
}

// fakeClock is a clock shared by engines, at a plausible time.
func fakeClock() *authtest.Clock {
	c := &authtest.Clock{}
	c.Set(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	return c
}

// Failed sign-ins count across instances: five failures spread over two engines use up the
// five free failures of the account on both, not five per engine; and a device token issued by
// one engine keeps its own budget on the other (the key that signs it is in the store).
func TestThrottleAcrossInstances(t *testing.T) {
	clock := fakeClock()
	es, _ := instances(t, 2, func(c *authcube.Config) { c.Now = clock.Now })
	a, b := es[0], es[1]
	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	_, err = a.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	good := authcube.Credentials{Login: "marvin18", Password: "correct horse battery"}
	device, err := a.CreateUserSession(ctx, good)
	require.NoError(t, err)
	require.NotEmpty(t, device.DeviceToken)

	bad := authcube.Credentials{Login: "marvin18", Password: "wrong password!"}
	for i := range authcube.DefaultThrottle.Free {
		_, err := es[i%2].CreateUserSession(ctx, bad)
		require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "failure %d", i+1)
	}
	for i, e := range es {
		_, err := e.CreateUserSession(ctx, good)
		require.ErrorIs(t, err, authcube.ErrThrottled, "engine %d admits a sixth attempt", i)
	}

	// The device token A issued is honoured by B: its own budget, so the owner gets in.
	withDevice := good
	withDevice.DeviceToken = device.DeviceToken
	_, err = b.CreateUserSession(ctx, withDevice)
	require.NoError(t, err, "B ignores the device token A issued")

	// Once the delay is over, a success on one engine resets the count for both.
	clock.Advance(authcube.DefaultThrottle.Base)
	_, err = b.CreateUserSession(ctx, good)
	require.NoError(t, err)
	for i := range authcube.DefaultThrottle.Free - 1 {
		_, err := es[i%2].CreateUserSession(ctx, bad)
		require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "failure %d after the reset", i+1)
	}
	_, err = a.CreateUserSession(ctx, good)
	require.NoError(t, err)
}

// 100 concurrent sign-ups of one login spread over two engines: exactly one wins, the others
// are ErrConflict on the login.
func TestConcurrentSignUpsAcrossInstances(t *testing.T) {
	es, _ := instances(t, 2, nil)
	ctx := t.Context()
	apps := make([]string, len(es))
	for i, e := range es {
		app, err := e.CreateSession(ctx)
		require.NoError(t, err)
		apps[i] = app.Token
	}
	const n = 100
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		won       int
		conflicts int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := es[i%2].SignUp(ctx, apps[i%2], authcube.NewUser{Login: "marvin18", Password: fmt.Sprintf("password number %d", i)})
			mu.Lock()
			defer mu.Unlock()
			var ae *authcube.Error
			switch {
			case err == nil:
				won++
			case errors.Is(err, authcube.ErrConflict) && errors.As(err, &ae) && ae.Field == "login":
				conflicts++
			default:
				t.Errorf("sign-up %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, won)
	assert.Equal(t, n-1, conflicts)
}

// The last guard: a session removed behind the engines' backs (no notification) is still
// served from B's cache, but no longer than Config.SessionCacheTTL (1 minute by default) after
// the store last confirmed it.
func TestSessionCacheTTL(t *testing.T) {
	clock := fakeClock()
	es, schema := instances(t, 1, func(c *authcube.Config) { c.Now = clock.Now })
	b := es[0]
	ctx := t.Context()
	s, err := b.CreateSession(ctx) // cached on B
	require.NoError(t, err)

	conn, err := pgx.Connect(ctx, testURL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DELETE FROM `+pgx.Identifier{schema, "sessions"}.Sanitize())
	require.NoError(t, err)

	clock.Advance(authcube.DefaultSessionCacheTTL - time.Millisecond)
	_, err = b.Session(ctx, s.Token)
	require.NoError(t, err, "within the last guard the cache answers alone")
	clock.Advance(time.Millisecond)
	_, err = b.Session(ctx, s.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized, "the last guard did not re-check the session")
}

// The revocation delay: 1000 sessions cached on B are destroyed on A one by one; each is refused
// by B soon after A's call returns. The delays' distribution is logged (BENCHMARKS.md reports it).
func TestRevocationDelay(t *testing.T) {
	es, _ := instances(t, 2, nil)
	a, b := es[0], es[1]
	ctx := t.Context()
	n := 1000
	if testing.Short() {
		n = 100
	}
	delays := make([]time.Duration, 0, n)
	for range n {
		s, err := b.CreateSession(ctx) // cached on B from the start
		require.NoError(t, err)
		_, err = b.Session(ctx, s.Token)
		require.NoError(t, err)
		require.NoError(t, a.DestroySession(ctx, s.Token))
		start := time.Now()
		for {
			_, err := b.Session(ctx, s.Token)
			if errors.Is(err, authcube.ErrUnauthorized) {
				break
			}
			require.NoError(t, err)
			require.Less(t, time.Since(start), 5*time.Second, "a revocation on A never reached B")
			time.Sleep(20 * time.Microsecond) // poll without taking a core from the listener
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	q := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }
	t.Logf("revocation delay A→B over %d revocations: p50 %v, p90 %v, p99 %v, max %v", n, q(0.5), q(0.9), q(0.99), delays[n-1])
}

// With the pool exhausted and the database blocked, calls end with their ctx: an error when
// the deadline passes, never a hang.
func TestPoolExhaustedHonoursDeadlines(t *testing.T) {
	url := testURL(t)
	schema := freshSchema(t, url)
	st, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 1})
	require.NoError(t, err)
	defer st.Close()
	ctx := t.Context()
	_, err = st.CreateUser(ctx, storeUser("marvin18"))
	require.NoError(t, err)

	// Another client locks the users table: the store's one connection blocks on it.
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier{schema, "users"}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)

	blocked := make(chan error, 1)
	bctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	go func() {
		_, err := st.UserByLogin(bctx, "marvin18") // holds the only connection while blocked
		blocked <- err
	}()
	require.Eventually(t, func() bool { // it holds the connection, waiting for the lock
		var waiting int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass`,
			pgx.Identifier{schema, "users"}.Sanitize()).Scan(&waiting)
		return err == nil && waiting > 0
	}, 5*time.Second, time.Millisecond)
	for _, d := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		dctx, dcancel := context.WithTimeout(ctx, d)
		start := time.Now()
		_, err := st.UserByLogin(dctx, "marvin18")
		dcancel()
		require.Error(t, err)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), d+2*time.Second, "the call outlived its deadline")
	}
	require.ErrorIs(t, <-blocked, context.DeadlineExceeded)
}

// storeUser is a user record with a login, for calls on the store itself.
func storeUser(login string) store.User {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return store.User{Login: login, LoginCanon: login, CreatedAt: now, UpdatedAt: now, LastRequestAt: now}
}

// A password reset asked on A is mailed by A's queue and confirmed on B; the sessions it ends
// are refused on both, and the token works once in all.
func TestResetAcrossInstances(t *testing.T) {
	mail := &authtest.Mailbox{}
	es, _ := instances(t, 2, func(c *authcube.Config) { c.Mailer = mail })
	a, b := es[0], es[1]
	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	_, err = a.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Email: "marvin@example.com", Password: "correct horse battery"})
	require.NoError(t, err)
	s, err := b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)

	require.NoError(t, a.ResetPassword(ctx, app.Token, "marvin@example.com"))
	require.NoError(t, a.FlushMail(ctx))
	token := mail.LastResetToken()
	require.NotEmpty(t, token)
	require.NoError(t, b.ConfirmPasswordReset(ctx, token, "a brand new password"))
	require.Error(t, a.ConfirmPasswordReset(ctx, token, "yet another password"), "a reset token worked twice")
	refusedSoon(t, b, s.Token)
	refusedSoon(t, a, s.Token)
	_, err = a.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "a brand new password"})
	require.NoError(t, err)
}

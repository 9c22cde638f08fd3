// Package storetest is the conformance suite every [store.Store] must pass. A backend's tests
// call [Run] with a function that opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mybackend.Open(...)
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite goes through the interface only, with fixed times (a store never reads a clock) kept
// to the millisecond.
// Its subtests are grouped by role, one file each: sessions.go (store.Sessions), users.go,
// query.go (store.Queries), identities.go, reset.go (store.ResetTokens), files.go and
// throttles.go; the concurrency subtests are here.
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// t0 is the suite's fixed "now"; every time the suite stores is t0 plus an offset.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// tokenHash returns a distinct token hash per name.
func tokenHash(name string) [32]byte { return sha256.Sum256([]byte("token:" + name)) }

// appSession returns an application session named name, created and last used at created.
func appSession(name string, created time.Time) store.Session {
	h := tokenHash(name)
	return store.Session{
		TokenHash:     h,
		ID:            fmt.Sprintf("%x-%x-4%x-8%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]),
		AppID:         7,
		CreatedAt:     created,
		LastRequestAt: created,
	}
}

// newUser returns a user with login (canonical form lower case) and no email.
func newUser(login string) store.User {
	return store.User{
		Login:         login,
		LoginCanon:    login,
		CreatedAt:     at(0),
		UpdatedAt:     at(0),
		LastRequestAt: at(0),
	}
}

// normSession and normUser make records comparable whatever time zone or empty-slice choice a
// backend makes: times are compared as instants in UTC, and no tags is nil.
func normSession(s store.Session) store.Session {
	s.CreatedAt, s.SignedInAt, s.LastRequestAt = s.CreatedAt.UTC(), s.SignedInAt.UTC(), s.LastRequestAt.UTC()
	return s
}

func normUser(u store.User) store.User {
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), u.LastRequestAt.UTC()
	if len(u.Tags) == 0 {
		u.Tags = nil
	}
	return u
}

// requireSession requires that the stored session with want's token hash equals want.
func requireSession(t *testing.T, s store.Store, want store.Session) {
	t.Helper()
	got, err := s.Session(context.Background(), want.TokenHash)
	require.NoError(t, err)
	require.Equal(t, normSession(want), normSession(got))
}

// requireNoSession requires that no session has the token hash, and no tombstone either: it
// never existed or it expired.
func requireNoSession(t *testing.T, s store.Store, h [32]byte) {
	t.Helper()
	_, err := s.Session(context.Background(), h)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// requireRevoked requires that the session of the token hash was revoked: Session answers
// ErrRevoked, not ErrNotFound (S33).
func requireRevoked(t *testing.T, s store.Store, h [32]byte) {
	t.Helper()
	_, err := s.Session(context.Background(), h)
	require.ErrorIs(t, err, store.ErrRevoked)
	require.NotErrorIs(t, err, store.ErrNotFound)
}

// createUser creates u and returns it with its new id.
func createUser(t *testing.T, s store.Store, u store.User) store.User {
	t.Helper()
	id, err := s.CreateUser(t.Context(), u)
	require.NoError(t, err)
	require.Positive(t, id)
	u.ID = id
	return u
}

// requireConflict requires that err is a *store.ConflictError naming field.
func requireConflict(t *testing.T, err error, field string) {
	t.Helper()
	var ce *store.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, field, ce.Field)
}

// Run runs the conformance suite against stores made by open; each subtest calls open for a
// fresh, empty store (open registers its own cleanup with t.Cleanup). Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	// sub runs one parallel subtest with its own store.
	sub := func(t *testing.T, name string, f func(t *testing.T, s store.Store)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, open(t))
		})
	}

	runSessions(t, sub)
	runUsers(t, sub)
	runRevoked(t, sub)
	runQuery(t, sub)
	runIdentities(t, sub)
	runFiles(t, sub)
	runReset(t, sub)
	runThrottles(t, sub)
	runAdmin(t, sub)
	runSecondFactors(t, sub)
	runEmailCodes(t, sub)
	runPasskeys(t, sub)
	runLinker(t, sub)
	t.Run("Concurrency", func(t *testing.T) {
		sub(t, "SameLogin", testConcurrentSameLogin)
		sub(t, "Sessions", testConcurrentSessions)
		sub(t, "CancelledMidway", testConcurrentCancel)
	})
}

func testConcurrentSameLogin(t *testing.T, s store.Store) {
	const n = 50
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		ids   = make([]int64, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			u := newUser("same")
			u.Email = fmt.Sprintf("u%d@example.com", i)
			u.EmailCanon = u.Email
			ids[i], errs[i] = s.CreateUser(context.Background(), u)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two callers created login %q", "same")
			winner = i
			continue
		}
		requireConflict(t, err, "login")
	}
	require.NotEqual(t, -1, winner, "nobody created the user")

	got, err := s.UserByLogin(t.Context(), "same")
	require.NoError(t, err)
	assert.Equal(t, ids[winner], got.ID)
	assert.Equal(t, fmt.Sprintf("u%d@example.com", winner), got.EmailCanon)
	for i := range n {
		if i == winner {
			continue
		}
		_, err := s.UserByEmail(t.Context(), fmt.Sprintf("u%d@example.com", i))
		assert.ErrorIs(t, err, store.ErrNotFound)
	}
}

func testConcurrentSessions(t *testing.T, s store.Store) {
	const goroutines, each = 64, 20
	u := createUser(t, s, newUser("alice"))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, goroutines)
	)
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for i := range each {
				se := appSession(fmt.Sprintf("g%d-%d", g, i), at(time.Duration(i)*time.Millisecond))
				if i%2 == 1 {
					se.UserID, se.Provider, se.SignedInAt = u.ID, "password", se.CreatedAt
				}
				if err := s.CreateSession(context.Background(), se, ""); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		require.NoError(t, err, "goroutine %d", g)
	}
	for g := range goroutines {
		for i := range each {
			se := appSession(fmt.Sprintf("g%d-%d", g, i), at(time.Duration(i)*time.Millisecond))
			if i%2 == 1 {
				se.UserID, se.Provider, se.SignedInAt = u.ID, "password", se.CreatedAt
			}
			requireSession(t, s, se)
		}
	}
}

// testConcurrentCancel cancels writers while they wait: each must have either failed and stored
// nothing or returned nil and stored its session.
func testConcurrentCancel(t *testing.T, s store.Store) {
	const n = 200
	var (
		wg   sync.WaitGroup
		errs = make([]error, n)
	)
	for i := range n {
		ctx, cancel := context.WithCancel(t.Context())
		wg.Go(func() {
			errs[i] = s.CreateSession(ctx, appSession(fmt.Sprintf("c%d", i), at(0)), "")
		})
		if i%2 == 0 {
			cancel()
		} else {
			defer cancel()
		}
	}
	wg.Wait()
	stored := 0
	for i, err := range errs {
		h := tokenHash(fmt.Sprintf("c%d", i))
		_, lerr := s.Session(t.Context(), h)
		if err != nil {
			assert.ErrorIs(t, lerr, store.ErrNotFound, "caller %d failed (%v) but its session is stored", i, err)
			continue
		}
		stored++
		assert.NoError(t, lerr, "caller %d succeeded but its session is missing", i)
	}
	assert.GreaterOrEqual(t, stored, n/2, "callers that were never cancelled succeed")
}

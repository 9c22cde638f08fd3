package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of store.Throttles.

// runThrottles registers the subtests of store.Throttles.
func runThrottles(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("Throttle", func(t *testing.T) {
		sub(t, "Unknown", func(t *testing.T, s store.Store) { requireThrottle(t, s, "login:nobody", 0, time.Time{}) })
	})
	t.Run("SetThrottle", func(t *testing.T) {
		sub(t, "RoundTrip", testSetThrottle)
	})
	t.Run("AddThrottleFailure", func(t *testing.T) {
		sub(t, "Counts", testAddThrottleFailure)
		sub(t, "Concurrent", testAddThrottleFailureConcurrent)
	})
	t.Run("DeleteStaleThrottles", func(t *testing.T) {
		sub(t, "EndedBefore", testDeleteStaleThrottles)
	})
}

// requireThrottle requires that key's stored state is failures and until.
func requireThrottle(t *testing.T, s store.Store, key string, failures int, until time.Time) {
	t.Helper()
	n, u, err := s.Throttle(t.Context(), key)
	require.NoError(t, err)
	assert.Equal(t, failures, n, "key %q", key)
	if until.IsZero() {
		assert.True(t, u.IsZero(), "key %q: until %v, want the zero time", key, u)
	} else {
		assert.Equal(t, until.UTC(), u.UTC(), "key %q", key)
	}
}

func testSetThrottle(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.NoError(t, s.SetThrottle(ctx, "login:alice", 3, at(time.Minute+7*time.Millisecond)))
	require.NoError(t, s.SetThrottle(ctx, "email:alice@example.com", 1, at(time.Second)))
	requireThrottle(t, s, "login:alice", 3, at(time.Minute+7*time.Millisecond))
	requireThrottle(t, s, "email:alice@example.com", 1, at(time.Second))
	requireThrottle(t, s, "login:Alice", 0, time.Time{}) // keys are exact

	require.NoError(t, s.SetThrottle(ctx, "login:alice", 5, at(2*time.Minute)))
	requireThrottle(t, s, "login:alice", 5, at(2*time.Minute))

	// Failures 0 deletes the key, and deleting a key never stored is no error.
	require.NoError(t, s.SetThrottle(ctx, "login:alice", 0, at(3*time.Minute)))
	requireThrottle(t, s, "login:alice", 0, time.Time{})
	require.NoError(t, s.SetThrottle(ctx, "login:nobody", 0, time.Time{}))
	requireThrottle(t, s, "email:alice@example.com", 1, at(time.Second))
}

func testDeleteStaleThrottles(t *testing.T, s store.Store) {
	ctx := t.Context()
	require.NoError(t, s.SetThrottle(ctx, "a", 1, at(time.Minute)))
	require.NoError(t, s.SetThrottle(ctx, "b", 2, at(2*time.Minute)))
	require.NoError(t, s.SetThrottle(ctx, "c", 3, at(3*time.Minute)))
	n, err := s.DeleteStaleThrottles(ctx, at(2*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	requireThrottle(t, s, "a", 0, time.Time{})
	requireThrottle(t, s, "b", 2, at(2*time.Minute)) // ending exactly at `before` is not before it
	requireThrottle(t, s, "c", 3, at(3*time.Minute))
	n, err = s.DeleteStaleThrottles(ctx, at(2*time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func testAddThrottleFailure(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := store.ThrottleRule{Free: 2, Base: time.Second, Max: 3 * time.Second, ForgetBefore: at(0)}
	add := func(key string, when time.Time, wantN int, wantUntil time.Time) {
		t.Helper()
		n, u, err := s.AddThrottleFailure(ctx, key, when, r)
		require.NoError(t, err)
		assert.Equal(t, wantN, n)
		assert.Equal(t, wantUntil.UTC(), u.UTC())
		requireThrottle(t, s, key, wantN, wantUntil)
	}
	add("k", at(time.Minute), 1, at(time.Minute))                                               // below Free: until is the failure's time
	add("k", at(time.Minute+time.Millisecond), 2, at(time.Minute+time.Second+time.Millisecond)) // Free reached: Base
	add("k", at(2*time.Minute), 3, at(2*time.Minute+2*time.Second))                             // doubled
	add("k", at(3*time.Minute), 4, at(3*time.Minute+3*time.Second))                             // at most Max
	require.NoError(t, s.SetThrottle(ctx, "k", 0, time.Time{}))                                 // a success forgets it
	add("k", at(4*time.Minute), 1, at(4*time.Minute))

	// A state whose until is before ForgetBefore starts over.
	require.NoError(t, s.SetThrottle(ctx, "old", 7, at(time.Second)))
	r.ForgetBefore = at(time.Hour)
	add("old", at(2*time.Hour), 1, at(2*time.Hour))
	// A later until is kept.
	require.NoError(t, s.SetThrottle(ctx, "late", 1, at(5*time.Hour)))
	add("late", at(2*time.Hour), 2, at(5*time.Hour))
}

// testAddThrottleFailureConcurrent: concurrent failures of one key each count once.
func testAddThrottleFailureConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	r := store.ThrottleRule{Free: 5, Base: time.Second, Max: time.Hour, ForgetBefore: at(0)}
	const n = 24
	var wg sync.WaitGroup
	seen := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := s.AddThrottleFailure(ctx, "burst", at(time.Minute), r)
			assert.NoError(t, err)
			seen[i] = got
		}()
	}
	wg.Wait()
	requireThrottle(t, s, "burst", n, at(time.Minute+time.Hour))
	counts := make(map[int]bool)
	for _, got := range seen {
		assert.False(t, counts[got], "two callers saw failure count %d", got)
		counts[got] = true
	}
}

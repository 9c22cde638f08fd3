package storetest

import (
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

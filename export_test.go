package authcube

import (
	"context"

	"github.com/authcube/authcube/store"
)

// Hooks for the tests of package authcube_test: they reach inside only to observe and to drive
// background work without waiting for its timers.

// HashCount returns how many password hashes e has computed.
func HashCount(e *Engine) int64 { return e.hasher.hashes.Load() }

// VerifyCount returns how many password verifications e has run, dummy ones included.
func VerifyCount(e *Engine) int64 { return e.hasher.verifies.Load() }

// WrapStore replaces e's store with wrap(store), keeping the session cache; call it before
// using e.
func WrapStore(e *Engine, wrap func(store.Store) store.Store) { e.store = wrap(e.store) }

// FlushActivity writes back buffered session activity now, as the minutely flush does.
func FlushActivity(e *Engine) error { return e.flushActivity(context.Background()) }

// Sweep runs the sweeper now.
func Sweep(e *Engine) error { return e.sweep(context.Background()) }

// CachedSessions returns how many sessions e's cache holds.
func CachedSessions(e *Engine) int { return e.cache.len() }

// StoreOf returns e's store, for benchmarks that compare a call with the query it makes.
func StoreOf(e *Engine) store.Store { return e.store }

// SetThrottleTableSize lowers the cap of e's in-memory throttle table; call it before using e.
func SetThrottleTableSize(e *Engine, n int) { e.throttle.cap = n }

// ThrottleKeys returns how many keys e's throttle holds in memory.
func ThrottleKeys(e *Engine) int { return e.throttle.size() }

package authcube_test

import (
	"context"
	"sync/atomic"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

// afterSession wraps a store and calls after once a Session read has returned, before the
// engine sees the result: what storetest.Hooked's Before cannot do, for interleavings that
// need a change between a read and its use (a cache fill racing a revocation).
type afterSession struct {
	store.Store
	after func()
}

func (a *afterSession) Session(ctx context.Context, tokenHash [32]byte) (store.Session, error) {
	s, err := a.Store.Session(ctx, tokenHash)
	a.after()
	return s, err
}

// onceBefore makes the first call of the store method run f before it reaches the store, and
// returns a function that reports whether that happened. f runs on the caller's goroutine, so
// it can complete a whole competing call in between (storetest.Hooked).
func onceBefore(e *authcube.Engine, method string, f func()) (happened func() bool) {
	var armed atomic.Bool
	armed.Store(true)
	authcube.WrapStore(e, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: func(m string) error {
			if m == method && armed.CompareAndSwap(true, false) {
				f()
			}
			return nil
		}}
	})
	return func() bool { return !armed.Load() }
}

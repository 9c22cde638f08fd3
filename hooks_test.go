package authcube_test

import (
	"context"

	"github.com/authcube/authcube/store"
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

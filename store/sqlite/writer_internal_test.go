package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

const testWait, testTick = 10 * time.Second, time.Millisecond

// queueBatch runs fns as one batch: a first operation holds the writer until all of fns are
// queued behind it, so that the writer drains them together. It returns each fn's error.
func queueBatch(t *testing.T, s *Store, fns []func(tx *wtx) error) []error {
	t.Helper()
	release := make(chan struct{})
	held := make(chan struct{})
	go s.w.do(context.Background(), func(*wtx) error { //nolint:errcheck // a no-op
		close(held)
		<-release
		return nil
	})
	<-held
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = s.w.do(t.Context(), fn) })
	}
	require.Eventually(t, func() bool { return len(s.w.queue) == len(fns) }, testWait, testTick)
	close(release)
	wg.Wait()
	return errs
}

// TestBatchOwnFailureRollsBackItsWrites: an operation that writes and then fails on its own,
// in a batch with others, leaves none of its writes, and the others commit. This is the case
// where the batch, first run without savepoints, is run again with one per operation.
func TestBatchOwnFailureRollsBackItsWrites(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	insert := func(key string) func(tx *wtx) error {
		return func(tx *wtx) error {
			_, err := tx.exec(`INSERT INTO throttle (key, failures, until) VALUES (?, 1, 0)`, key)
			return err
		}
	}
	fns := []func(tx *wtx) error{insert("a"), insert("b"), func(tx *wtx) error {
		if err := insert("failed")(tx); err != nil {
			return err
		}
		return store.ErrNotFound // its own outcome, after a write
	}, insert("c"), insert("d")}
	errs := queueBatch(t, s, fns)
	for i, err := range errs {
		if i == 2 {
			assert.ErrorIs(t, err, store.ErrNotFound)
		} else {
			assert.NoError(t, err, "op %d", i)
		}
	}
	for _, key := range []string{"a", "b", "c", "d"} {
		n, _, err := s.Throttle(t.Context(), key)
		require.NoError(t, err)
		assert.Equal(t, 1, n, key)
	}
	n, _, err := s.Throttle(t.Context(), "failed")
	require.NoError(t, err)
	assert.Zero(t, n, "the failed operation's write was rolled back")
	assert.Equal(t, carefulBatches, s.w.careful, "the next batches run with savepoints")

	// A failing operation alone in its batch needs no savepoint either.
	err = s.w.do(t.Context(), fns[2])
	require.ErrorIs(t, err, store.ErrNotFound)
	n, _, err = s.Throttle(t.Context(), "failed")
	require.NoError(t, err)
	assert.Zero(t, n)
}

// TestBatchCarefulModeEnds: after carefulBatches batches with savepoints, batches run without
// them again, and both kinds commit the same things.
func TestBatchCarefulModeEnds(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	s.w.careful = 2
	for round := range 4 {
		fns := make([]func(tx *wtx) error, 3)
		for i := range fns {
			key := fmt.Sprintf("k%d-%d", round, i)
			fns[i] = func(tx *wtx) error {
				_, err := tx.exec(`INSERT INTO throttle (key, failures, until) VALUES (?, 1, 0)`, key)
				return err
			}
		}
		for _, err := range queueBatch(t, s, fns) {
			require.NoError(t, err)
		}
	}
	assert.Zero(t, s.w.careful)
	var n int
	require.NoError(t, s.readRow(t.Context(), `SELECT count(*) FROM throttle`, nil, scanInto(&n)))
	assert.Equal(t, 12, n)
}

// TestOnlyLazyBatchesSkipTheSync: a batch made of lazy operations only commits at
// synchronous=NORMAL; a batch with a durable operation in it, and every durable batch after a
// lazy one, commits at FULL.
func TestOnlyLazyBatchesSkipTheSync(t *testing.T) {
	t.Parallel()
	s := openInternal(t, Options{})
	ctx := t.Context()
	const normal, full = 1, 2
	mode := func(got *int64) func(tx *wtx) error {
		return func(tx *wtx) error { return tx.queryRow(`PRAGMA synchronous`).Scan(got) }
	}
	var got int64
	require.NoError(t, s.w.doLazy(ctx, mode(&got)))
	assert.EqualValues(t, normal, got, "a lazy batch")
	require.NoError(t, s.w.do(ctx, mode(&got)))
	assert.EqualValues(t, full, got, "a durable batch after a lazy one")
	require.NoError(t, s.w.doLazy(ctx, mode(&got)))
	assert.EqualValues(t, normal, got)

	// One batch of a lazy and a durable operation: durable.
	release, held := make(chan struct{}), make(chan struct{})
	go s.w.do(context.Background(), func(*wtx) error { //nolint:errcheck // a no-op
		close(held)
		<-release
		return nil
	})
	<-held
	var lazyGot, durableGot int64
	var wg sync.WaitGroup
	wg.Go(func() { assert.NoError(t, s.w.doLazy(ctx, mode(&lazyGot))) })
	wg.Go(func() { assert.NoError(t, s.w.do(ctx, mode(&durableGot))) })
	require.Eventually(t, func() bool { return len(s.w.queue) == 2 }, testWait, testTick)
	close(release)
	wg.Wait()
	assert.EqualValues(t, full, lazyGot, "a lazy operation batched with a durable one")
	assert.EqualValues(t, full, durableGot)
}

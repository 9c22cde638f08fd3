package authcube_test

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// heapPeak samples the live heap while f runs and returns the highest value above the heap
// before f. Sampling uses a ticker: it measures, it does not wait for anything to happen.
func heapPeak(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if h := read(); h > peak {
				peak = h
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	if peak < base {
		return 0
	}
	return peak - base
}

// signInBurst signs in n times at once with te's configuration.
func signInBurst(tb testing.TB, te *testEngine, n int) {
	app := te.appSession(tb)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: testPassword})
			if err != nil {
				tb.Error(err)
			}
		})
	}
	wg.Wait()
}

// S6: hashing concurrency is bounded, so a burst of sign-ins holds at most about
// 2 × slots × m of argon2 memory (freed buffers wait for the GC). Not parallel: it measures the
// process's heap.
func TestSignInBurstHeapIsBounded(t *testing.T) {
	const slots, memKiB = 2, 4096
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Rand = nil
		c.HashConcurrency = slots
		c.Hashing = authcube.HashParams{MemoryKiB: memKiB, Iterations: 1, Parallelism: 1}
		c.Throttle.Free = 1 << 20
	})
	te.signUp(t, "marvin18")
	peak := heapPeak(func() { signInBurst(t, te, 200) })
	bound := uint64(2*slots*memKiB<<10 + 32<<20)
	t.Logf("peak heap above baseline: %d MiB (bound %d MiB; unbounded would be %d MiB)", peak>>20, bound>>20, 200*memKiB>>10)
	assert.LessOrEqual(t, peak, bound)
	require.Positive(t, peak)
}

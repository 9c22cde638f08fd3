package authcube

import (
	"context"
	"sync"
	"time"
)

// ThrottleParams set the back-off after failed sign-ins (S9). Failures are counted per
// canonical login or email, so unknown accounts are throttled too; a success resets the count.
type ThrottleParams struct {
	Free int           // failed attempts allowed before back-off starts; 0 means 5
	Base time.Duration // first delay, doubling with each further failure; 0 means 1s
	Max  time.Duration // longest delay (never a permanent lock); 0 means 15m
}

// DefaultThrottle is Config.Throttle's zero value: 5 free failures, then 1s, 2s, 4s, ... up to
// 15 minutes between attempts.
var DefaultThrottle = ThrottleParams{Free: 5, Base: time.Second, Max: 15 * time.Minute}

// throttleMemory is how long failures are remembered after the last one (or after the end of
// the last delay): then the count starts again from zero.
const throttleMemory = time.Hour

// throttle keeps the failure count of each key in memory, where an attempt is reserved before
// any hashing, and writes it behind to the store so that a restart does not reset it.
type throttle struct {
	e  *Engine
	mu sync.Mutex
	m  map[string]*throttleState
}

type throttleState struct {
	failures int
	inflight int           // attempts reserved and not yet decided
	until    time.Time     // attempts are refused before it; after a failure below Free, its time
	wake     chan struct{} // closed when an attempt in flight ends; nil when nobody waits
}

func newThrottle(e *Engine) *throttle {
	return &throttle{e: e, m: make(map[string]*throttleState)}
}

// reserve admits one attempt for key, or refuses it with ErrThrottled (and a SignInThrottled
// event naming login). An admitted attempt must be ended with finish. Attempts in flight count
// against the free failures, so a burst of concurrent guesses verifies at most Free passwords:
// the attempts beyond wait for those in flight (or for ctx) and are then decided on their
// outcome, so a burst of right passwords goes through and a burst of wrong ones is throttled.
func (t *throttle) reserve(ctx context.Context, op, key, login, provider string) error {
	p := t.e.cfg.Throttle
	for {
		now := t.e.now()
		t.mu.Lock()
		st, ok := t.m[key]
		if !ok {
			// Load the stored state outside the lock; another reserve may install one meanwhile.
			t.mu.Unlock()
			failures, until, err := t.e.store.Throttle(ctx, key)
			if err != nil {
				return storeErr(op, err) // fail closed (S29)
			}
			t.mu.Lock()
			if st, ok = t.m[key]; !ok {
				st = &throttleState{failures: failures, until: until}
				t.m[key] = st
			}
		}
		// From here to the decision the lock is held: an admitted attempt's state stays in the
		// map (inflight > 0) until finish.
		if st.inflight == 0 && !st.until.IsZero() && now.Sub(st.until) > throttleMemory {
			st.failures, st.until = 0, time.Time{} // forgotten
		}
		if now.Before(st.until) {
			t.mu.Unlock()
			err := errorFor(ErrThrottled, op, "")
			err.RetryAfter = st.until.Sub(now)
			t.e.emit(Event{Kind: SignInThrottled, Login: login, Provider: provider, At: now, Err: err})
			return err
		}
		if st.inflight < max(p.Free-st.failures, 1) {
			st.inflight++
			t.mu.Unlock()
			return nil
		}
		if st.wake == nil {
			st.wake = make(chan struct{})
		}
		wake := st.wake
		t.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return &Error{Code: CodeInternal, Op: op, Message: "request cancelled", Err: ctx.Err()}
		}
	}
}

// finish ends an attempt admitted by reserve: a success forgets the key, a failure counts and,
// past Free failures, refuses attempts for Base × 2^(failures-Free), at most Max.
func (t *throttle) finish(ctx context.Context, key string, success bool) {
	now := t.e.now()
	p := t.e.cfg.Throttle
	t.mu.Lock()
	st := t.m[key]
	st.inflight--
	if st.wake != nil {
		close(st.wake)
		st.wake = nil
	}
	had := st.failures
	if success {
		st.failures, st.until = 0, time.Time{}
		if st.inflight == 0 {
			delete(t.m, key)
		}
	} else {
		st.failures++
		st.until = now
		if over := st.failures - p.Free; over >= 0 {
			delay := p.Max
			if over < 32 && p.Base<<over > 0 && p.Base<<over < p.Max {
				delay = p.Base << over
			}
			st.until = now.Add(delay)
		}
	}
	failures, until := st.failures, st.until
	t.mu.Unlock()
	if success && had == 0 {
		return // nothing stored
	}
	// Written behind the in-memory decision; a lost write costs a restart some failures, never
	// an admission beyond what memory allows.
	if err := t.e.store.SetThrottle(ctx, key, failures, until); err != nil {
		t.e.log.Error("authcube: storing throttle state", "err", err)
	}
}

// forget drops in-memory state that no longer refuses anything, to bound memory.
func (t *throttle) forget(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, st := range t.m {
		if st.inflight == 0 && now.Sub(st.until) > throttleMemory {
			delete(t.m, k)
		}
	}
}

package authcube

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/authcube/authcube/store"
)

// ThrottleParams set the back-off after failed sign-ins (S9). Config.Throttle counts failures
// per canonical login or email, so unknown accounts are throttled too, and per device token
// (S36); a success resets the count. Config.ClientThrottle counts them per client address
// across all accounts, and a success does not reset it.
type ThrottleParams struct {
	Free int           // failed attempts allowed before back-off starts; 0 means 5
	Base time.Duration // first delay, doubling with each further failure; 0 means 1s
	Max  time.Duration // longest delay (never a permanent lock); 0 means 15m
}

// DefaultThrottle is Config.Throttle's zero value: 5 free failures, then 1s, 2s, 4s, ... up to
// 15 minutes between attempts.
var DefaultThrottle = ThrottleParams{Free: 5, Base: time.Second, Max: 15 * time.Minute}

// DefaultClientThrottle is Config.ClientThrottle's zero value: 20 free failures from one client
// address across all accounts, then 1s, 2s, 4s, ... up to 15 minutes between attempts from it.
var DefaultClientThrottle = ThrottleParams{Free: 20, Base: time.Second, Max: 15 * time.Minute}

// throttleMemory is how long failures are remembered after the last one (or after the end of
// the last delay): then the count starts again from zero.
const throttleMemory = time.Hour

// ThrottleTableSize is the most throttle keys (accounts, client addresses, device tokens) kept
// in memory (S30). Past it the least recently used keys that no attempt is using are dropped;
// their state is in the store already, and is loaded again when the key comes back.
const ThrottleTableSize = 100_000

// maxLogLogin is the longest prefix of a user-supplied login or email that events and logs
// carry (S30), in bytes.
const maxLogLogin = 256

// throttleKey names what an attempt counts against: a digest of the kind and canonical value, so
// every key has the same small size however long the input (S30). p are its parameters;
// sticky keys (client addresses) are not reset by a success, so an attacker cannot clear the
// count of an address by signing in to an account of their own between guesses.
type throttleKey struct {
	key    string
	p      ThrottleParams
	sticky bool
}

// digestKey is the fixed-size (64 hex digits) store key of a kind ("login", "email", "client",
// ...) and a canonical value.
func digestKey(kind, value string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}

// accountKey is the throttle key of an account: kind "login" or "email" and its canonical form.
func (e *Engine) accountKey(kind, canonical string) throttleKey {
	return throttleKey{key: digestKey(kind, canonical), p: e.cfg.Throttle}
}

// clientKey is the throttle key of a client address; the zero Addr (unknown) gives none. IPv6
// addresses count per /64, the block one subscriber usually holds.
func (e *Engine) clientKey(a netip.Addr) (throttleKey, bool) {
	if !a.IsValid() {
		return throttleKey{}, false
	}
	p := netip.PrefixFrom(a, a.BitLen())
	if a.Is6() {
		p = netip.PrefixFrom(a, 64)
	}
	return throttleKey{key: digestKey("client", p.Masked().String()), p: e.cfg.ClientThrottle, sticky: true}, true
}

// logLogin bounds a user-supplied login or email for events and logs (S30): at most
// maxLogLogin bytes, cut at a character boundary and marked with "…" when cut.
func logLogin(s string) string {
	if len(s) <= maxLogLogin {
		return s
	}
	s = s[:maxLogLogin]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// throttle keeps the failure count of each key in memory, where an attempt is reserved before
// any hashing, and writes it behind to the store so that a restart does not reset it. At most
// ThrottleTableSize keys stay in memory.
//
// Over a store that others may change too (not store.Exclusive: several engines on one
// PostgreSQL database), the store holds the count for all of them: every reservation reads the
// key's stored state, and a failure is counted in the store with AddThrottleFailure (one atomic
// read and write) before the attempt ends, so the free failures are shared by every engine, not
// granted per engine. Attempts in flight are still reserved in each engine's memory: a burst
// spread over n engines at once may verify up to n × Free passwords before the first failures
// are stored; sequential guesses get Free in all.
type throttle struct {
	e      *Engine
	shared bool // the store is not exclusive: it holds the count
	mu     sync.Mutex
	m      map[string]*throttleState
	lru    *list.List // of keys, least recently used first
	cap    int
}

type throttleState struct {
	failures int
	inflight int           // attempts reserved and not yet decided
	until    time.Time     // attempts are refused before it; after a failure below Free, its time
	wake     chan struct{} // closed when an attempt in flight ends; nil when nobody waits
	elem     *list.Element // in lru
}

func newThrottle(e *Engine) *throttle {
	x, ok := e.store.(store.Exclusive)
	shared := !ok || !x.Exclusive()
	return &throttle{e: e, shared: shared, m: make(map[string]*throttleState), lru: list.New(), cap: ThrottleTableSize}
}

// reserve admits one attempt counted against every key, or refuses it with ErrThrottled (and
// a SignInThrottled event naming login) when any key refuses it. An admitted attempt must be
// ended with finish, with the same keys.
func (t *throttle) reserve(ctx context.Context, op, login, provider string, keys ...throttleKey) error {
	for i, k := range keys {
		if err := t.reserveOne(ctx, op, login, provider, k); err != nil {
			for _, r := range keys[:i] {
				t.release(r.key)
			}
			return err
		}
	}
	return nil
}

// reserveOne admits one attempt for k. Attempts in flight count against the free failures, so
// a burst of concurrent guesses verifies at most Free passwords: the attempts beyond wait for
// those in flight (or for ctx) and are then decided on their outcome, so a burst of right
// passwords goes through and a burst of wrong ones is throttled. Keys are always reserved in
// the same order (account or device, then client), and nothing waits on the first while
// holding the second, so waits never form a cycle.
func (t *throttle) reserveOne(ctx context.Context, op, login, provider string, k throttleKey) error {
	p := k.p
	for {
		now := t.e.now()
		t.mu.Lock()
		st, ok := t.m[k.key]
		if !ok || t.shared {
			// Load the stored state outside the lock; another reserve may install one meanwhile.
			// A shared store's state is read every time: other engines change it.
			t.mu.Unlock()
			failures, until, err := t.e.store.Throttle(ctx, k.key)
			if err != nil {
				return storeErr(op, err) // fail closed (S29)
			}
			t.mu.Lock()
			if st, ok = t.m[k.key]; !ok {
				st = &throttleState{failures: failures, until: until}
				t.install(k.key, st, now)
			} else if t.shared {
				st.failures, st.until = failures, until
			}
		}
		t.lru.MoveToBack(st.elem)
		// From here to the decision the lock is held: an admitted attempt's state stays in the
		// map (inflight > 0) until finish.
		if st.inflight == 0 && !st.until.IsZero() && now.Sub(st.until) > throttleMemory {
			st.failures, st.until = 0, time.Time{} // forgotten
		}
		if now.Before(st.until) {
			t.mu.Unlock()
			err := errorFor(ErrThrottled, op, "")
			err.RetryAfter = st.until.Sub(now)
			t.e.emit(Event{Kind: SignInThrottled, Login: logLogin(login), Provider: provider, At: now, Err: err})
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

// install adds st under key, first dropping the least recently used keys that no attempt uses
// while the table is full (S30). Their state was written to the store when it last changed.
// t.mu is held.
func (t *throttle) install(key string, st *throttleState, now time.Time) {
	for e := t.lru.Front(); e != nil && len(t.m) >= t.cap; {
		next := e.Next()
		k := e.Value.(string)
		if old := t.m[k]; old.inflight == 0 && old.wake == nil {
			t.lru.Remove(e)
			delete(t.m, k)
		}
		e = next
	}
	st.elem = t.lru.PushBack(key)
	t.m[key] = st
}

// remove drops key from memory. t.mu is held.
func (t *throttle) remove(key string, st *throttleState) {
	t.lru.Remove(st.elem)
	delete(t.m, key)
}

// release ends an attempt reserved on key without counting it (another key refused it).
func (t *throttle) release(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.m[key]
	st.inflight--
	if st.wake != nil {
		close(st.wake)
		st.wake = nil
	}
}

// finish ends an attempt admitted by reserve on every key.
func (t *throttle) finish(ctx context.Context, success bool, keys ...throttleKey) {
	for _, k := range keys {
		t.finishOne(ctx, k, success)
	}
}

// finishOne ends an attempt on k: a success forgets the key (unless it is sticky), a failure
// counts and, past Free failures, refuses attempts for Base × 2^(failures-Free), at most Max.
func (t *throttle) finishOne(ctx context.Context, k throttleKey, success bool) {
	now := t.e.now()
	p := k.p
	if t.shared && !(success && k.sticky) && t.finishShared(ctx, k, success, now) {
		return
	}
	t.mu.Lock()
	st := t.m[k.key]
	st.inflight--
	if st.wake != nil {
		close(st.wake)
		st.wake = nil
	}
	had := st.failures
	switch {
	case success && k.sticky:
		t.mu.Unlock()
		return // nothing changes
	case success:
		st.failures, st.until = 0, time.Time{}
		if st.inflight == 0 {
			t.remove(k.key, st)
		}
	default:
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
	if err := t.e.store.SetThrottle(ctx, k.key, failures, until); err != nil {
		t.e.log.Error("authcube: storing throttle state", "err", err)
	}
}

// throttleWriteTimeout bounds the store write that counts a failure; it does not end with the
// caller's ctx, so a cancelled request still counts.
const throttleWriteTimeout = 5 * time.Second

// finishShared ends an attempt on k over a shared store: the store counts the failure (or
// forgets the key after a success) first, then the attempt stops being in flight, so an attempt
// waiting for it reads the new count. It reports false, having changed nothing, when the store
// write failed: finishOne then counts in memory as over an exclusive store.
func (t *throttle) finishShared(ctx context.Context, k throttleKey, success bool, now time.Time) bool {
	t.mu.Lock()
	had := t.m[k.key].failures
	t.mu.Unlock()
	var (
		failures int
		until    time.Time
		err      error
	)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), throttleWriteTimeout)
	defer cancel()
	switch {
	case success && had == 0: // nothing stored
	case success:
		err = t.e.store.SetThrottle(wctx, k.key, 0, time.Time{})
	default:
		rule := store.ThrottleRule{Free: k.p.Free, Base: k.p.Base, Max: k.p.Max, ForgetBefore: now.Add(-throttleMemory)}
		failures, until, err = t.e.store.AddThrottleFailure(wctx, k.key, now, rule)
	}
	if err != nil {
		t.e.log.Error("authcube: storing throttle state", "err", err)
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.m[k.key]
	st.inflight--
	if st.wake != nil {
		close(st.wake)
		st.wake = nil
	}
	st.failures, st.until = failures, until
	if success && st.inflight == 0 {
		t.remove(k.key, st)
	}
	return true
}

// forget drops in-memory state that no longer refuses anything, to bound memory.
func (t *throttle) forget(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, st := range t.m {
		if st.inflight == 0 && st.wake == nil && now.Sub(st.until) > throttleMemory {
			t.remove(k, st)
		}
	}
}

// size returns how many keys are in memory (for tests).
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

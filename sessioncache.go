package authcube

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/authcube/authcube/store"
)

// The session cache keeps live sessions in memory so that a call with a token does no database
// read or write for the session in the common case: every call checks a token, and a database
// read (~10 µs) plus a durable write of the sliding expiry (~130 µs) per call would dominate its
// cost. Its rules:
//  1. No fill after revoke: each shard counts revocations; a fill installs only if the count did
//     not move while it loaded the row.
//  2. Revocations (sign-out, destroy, revoke, password change, reset, deletion) commit durably
//     first, then drop the sessions from the cache, then return.
//  3. Activity (the last request) is written back in batches, at most once per flush interval
//     per session and at Close, by a monotonic UPDATE ... max(last_request_at, ?): never an
//     insert, never a whole row.
//  4. Evicting an entry with unwritten activity parks that activity where the next flush writes
//     it and a miss finds it.
//  5. Readers of session rows (Sessions, the sweeper) merge the cached activity.
//  6. Writes re-check the session in their own transaction (the store does).
//  7. The cache is on only where no one else can end a session unseen: over a store.Exclusive
//     store (the engine's own SQLite store in its locked directory) or a store.Notifier, whose
//     events drop the sessions changed elsewhere as rule 2 drops local ones. While a
//     Notifier's subscription is lost the cache is emptied and answers nothing; it is emptied
//     again when the subscription is back, and only then answers again.
//  8. The last guard (Config.SessionCacheTTL): an entry the store has not confirmed for that
//     long is checked against the store again before it answers, so a change whose
//     notification was lost in a way no one noticed is seen at most that late.
// A crash loses at most one flush interval of activity: a session may then expire that much
// early, never late.

const cacheShards = 64

// entry is a cached live session. Times are Unix milliseconds. Only lastReq and flushed change
// after an entry is installed; a change of user (sign-in, sign-out) drops the entry instead.
type entry struct {
	id         string
	provider   string
	appID      int64
	userID     int64
	createdAt  int64
	signedInAt int64
	lastReq    atomic.Int64 // the last request
	flushed    atomic.Int64 // the last request known to be in the store
	checked    atomic.Int64 // when the store last confirmed the session (rule 8)
}

// newEntry is the entry of s, whose stored last request is flushed, read from (or written to)
// the store at checked.
func newEntry(s store.Session, flushed, checked int64) *entry {
	e := &entry{
		id: s.ID, provider: s.Provider, appID: s.AppID, userID: s.UserID,
		createdAt: ms(s.CreatedAt), signedInAt: ms(s.SignedInAt),
	}
	e.lastReq.Store(ms(s.LastRequestAt))
	e.flushed.Store(flushed)
	e.checked.Store(checked)
	return e
}

// touch records a request at now (never moving backwards).
func (e *entry) touch(now int64) {
	for {
		old := e.lastReq.Load()
		if now <= old || e.lastReq.CompareAndSwap(old, now) {
			return
		}
	}
}

// record rebuilds the store's view of the session.
func (e *entry) record(hash [32]byte) store.Session {
	return store.Session{
		TokenHash: hash, ID: e.id, Provider: e.provider, AppID: e.appID, UserID: e.userID,
		CreatedAt: fromMS(e.createdAt), SignedInAt: fromMS(e.signedInAt), LastRequestAt: fromMS(e.lastReq.Load()),
	}
}

type shard struct {
	mu      sync.RWMutex
	m       map[[32]byte]*entry
	revoked uint64             // revocations so far (rule 1)
	parked  map[[32]byte]int64 // activity of evicted entries, not yet written (rule 4)
}

// sessionCache is a bounded, sharded map from token hash to live session. It is safe for
// concurrent use.
type sessionCache struct {
	perShard int
	shards   [cacheShards]shard
}

func newSessionCache(size int) *sessionCache {
	c := &sessionCache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]*entry)
		c.shards[i].parked = make(map[[32]byte]int64)
	}
	return c
}

func (c *sessionCache) shard(h [32]byte) *shard { return &c.shards[h[0]%cacheShards] }

// get returns the cached entry, or nil.
func (c *sessionCache) get(h [32]byte) *entry {
	s := c.shard(h)
	s.mu.RLock()
	e := s.m[h]
	s.mu.RUnlock()
	return e
}

// generation returns the shard's revocation count, to pass to fill, and the activity parked
// for h (0 when none).
func (c *sessionCache) generation(h [32]byte) (gen uint64, parked int64) {
	s := c.shard(h)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revoked, s.parked[h]
}

// fill installs e for h unless a revocation happened in h's shard since gen was read. It
// returns the entry in the cache for h (e, or one installed meanwhile) and whether it is there.
func (c *sessionCache) fill(h [32]byte, e *entry, gen uint64) (*entry, bool) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.revoked != gen {
		return nil, false
	}
	if cur, ok := s.m[h]; ok {
		cur.touch(e.lastReq.Load())
		return cur, true
	}
	if len(s.m) >= c.perShard {
		s.evict()
	}
	if p, ok := s.parked[h]; ok {
		e.touch(p)
		delete(s.parked, h)
	}
	s.m[h] = e
	return e, true
}

// evict removes the least recently used of a few entries, parking its unwritten activity.
// s.mu is held.
func (s *shard) evict() {
	var (
		victim [32]byte
		oldest *entry
		n      int
	)
	for h, e := range s.m { // map iteration starts at a random place: a random sample
		if oldest == nil || e.lastReq.Load() < oldest.lastReq.Load() {
			victim, oldest = h, e
		}
		if n++; n == 5 {
			break
		}
	}
	if oldest == nil {
		return
	}
	delete(s.m, victim)
	if last := oldest.lastReq.Load(); last > oldest.flushed.Load() {
		s.parked[victim] = last
	}
}

// drop removes h after its revocation committed, and counts the revocation (rule 1).
func (c *sessionCache) drop(h [32]byte) {
	s := c.shard(h)
	s.mu.Lock()
	delete(s.m, h)
	delete(s.parked, h)
	s.revoked++
	s.mu.Unlock()
}

// dropAll removes every entry, parking unwritten activity (rule 4), and counts a revocation in
// every shard so that no fill that started before it installs (rule 1).
func (c *sessionCache) dropAll() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for h, e := range s.m {
			if last := e.lastReq.Load(); last > e.flushed.Load() {
				s.parked[h] = max(s.parked[h], last)
			}
		}
		clear(s.m)
		s.revoked++
		s.mu.Unlock()
	}
}

// lastRequest returns the cached last request for h (Unix ms), or 0 when not cached.
func (c *sessionCache) lastRequest(h [32]byte) int64 {
	if e := c.get(h); e != nil {
		return e.lastReq.Load()
	}
	s := c.shard(h)
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.parked[h]
}

// unwritten collects the activity not yet in the store: dirty entries and parked activity.
func (c *sessionCache) unwritten() []store.Activity {
	var acts []store.Activity
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		for h, e := range s.m {
			if last := e.lastReq.Load(); last > e.flushed.Load() {
				acts = append(acts, store.Activity{TokenHash: h, UserID: e.userID, At: fromMS(last)})
			}
		}
		for h, last := range s.parked {
			acts = append(acts, store.Activity{TokenHash: h, At: fromMS(last)})
		}
		s.mu.RUnlock()
	}
	return acts
}

// written records that acts reached the store.
func (c *sessionCache) written(acts []store.Activity) {
	for _, a := range acts {
		s := c.shard(a.TokenHash)
		at := ms(a.At)
		s.mu.Lock()
		if e, ok := s.m[a.TokenHash]; ok {
			for {
				old := e.flushed.Load()
				if at <= old || e.flushed.CompareAndSwap(old, at) {
					break
				}
			}
		}
		if p, ok := s.parked[a.TokenHash]; ok && p <= at {
			delete(s.parked, a.TokenHash)
		}
		s.mu.Unlock()
	}
}

// len returns the number of cached sessions.
func (c *sessionCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// startCache turns the session cache on when the store allows it (rule 7), subscribing to a
// store.Notifier's session changes. An Exclusive store that is also a Notifier needs no
// subscription.
func (e *Engine) startCache() error {
	if e.cfg.SessionCacheTTL > 0 {
		e.cacheTTLMS = e.cfg.SessionCacheTTL.Milliseconds()
	}
	if x, ok := e.store.(store.Exclusive); ok && x.Exclusive() {
		e.cache = newSessionCache(e.cfg.SessionCacheSize)
		return nil
	}
	if e.cfg.SessionCacheTTL == 0 {
		e.cacheTTLMS = DefaultSessionCacheTTL.Milliseconds()
	}
	n, ok := e.store.(store.Notifier)
	if !ok {
		return nil
	}
	e.cache = newSessionCache(e.cfg.SessionCacheSize)
	ctx, cancel := context.WithCancel(context.Background())
	if err := n.SubscribeSessions(ctx, e.sessionEvent); err != nil {
		cancel()
		return err
	}
	e.unsubscribe = cancel
	return nil
}

// sessionEvent applies a store.Notifier's event to the cache (rule 7).
func (e *Engine) sessionEvent(ev store.SessionEvent) {
	if ev.Lost {
		e.cacheLost.Store(true) // first: from now on nothing is served from the cache
		e.cache.dropAll()
		return
	}
	for _, h := range ev.TokenHashes {
		e.cache.drop(h)
	}
	if e.cacheLost.Load() {
		// Back: forget what was filled while events were missed, then serve again.
		e.cache.dropAll()
		e.cacheLost.Store(false)
	}
}

package authcube_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
	"github.com/authcube/authcube/store/storetest"
)

// withStore makes a test engine run on st, with no Dir.
func withStore(t testing.TB, st store.Store, seed byte) func(*authcube.Config) {
	return func(c *authcube.Config) {
		blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
		require.NoError(t, err)
		c.Dir, c.Store, c.Blobs, c.Mailer, c.Rand = "", st, blobs, &authtest.Mailbox{}, seeded(seed)
	}
}

// countStore wraps te's store (keeping its cache) so that store calls are counted by method.
func countStore(te *testEngine) *callCounter {
	c := &callCounter{calls: map[string]int{}}
	authcube.WrapStore(te.Engine, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: c.count}
	})
	return c
}

// A Config.Store that reports store.Exclusive keeps the session cache: a live token costs no
// store call.
func TestExclusiveStoreKeepsSessionCache(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "authcube.db"), sqlite.Options{Exclusive: true})
	require.NoError(t, err)
	te := newTestEngine(t, withStore(t, st, 1))
	_, s := te.signedIn(t, "marvin18")
	calls := countStore(te)
	for range 3 {
		_, err := te.Session(ctx, s.Token)
		require.NoError(t, err)
	}
	assert.Zero(t, calls.total(), "calls: %v", calls.calls)
}

// sessionBus is an in-process stand-in for a shared database's change notification: every
// notifyingStore on it publishes the session changes it commits to every subscriber.
type sessionBus struct {
	mu   sync.Mutex
	subs map[int]func(store.SessionEvent)
	next int
	down bool // the subscriptions are lost: changes are not delivered
}

func newSessionBus() *sessionBus { return &sessionBus{subs: map[int]func(store.SessionEvent){}} }

// send delivers ev to every subscriber, one at a time.
func (b *sessionBus) send(ev store.SessionEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down && !ev.Lost {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(b.subs)) {
		b.subs[k](ev)
	}
}

// lose reports a lost subscription to every subscriber; changes are not delivered until resume.
func (b *sessionBus) lose() {
	b.send(store.SessionEvent{Lost: true})
	b.mu.Lock()
	b.down = true
	b.mu.Unlock()
}

// resume delivers changes again, starting with an event without Lost.
func (b *sessionBus) resume() {
	b.mu.Lock()
	b.down = false
	b.mu.Unlock()
	b.send(store.SessionEvent{})
}

// notifyingStore is a store.Store that is a store.Notifier through its bus. Only the methods
// that end or re-point sessions are overridden; the rest are the embedded store's.
type notifyingStore struct {
	store.Store
	bus *sessionBus
}

var _ store.Notifier = (*notifyingStore)(nil)

func (n *notifyingStore) SubscribeSessions(ctx context.Context, f func(store.SessionEvent)) error {
	n.bus.mu.Lock()
	k := n.bus.next
	n.bus.next++
	n.bus.subs[k] = f
	n.bus.mu.Unlock()
	context.AfterFunc(ctx, func() {
		n.bus.mu.Lock()
		delete(n.bus.subs, k)
		n.bus.mu.Unlock()
	})
	return nil
}

// published sends hashes when err is nil, and returns err.
func (n *notifyingStore) published(err error, hashes ...[32]byte) error {
	if err == nil && len(hashes) > 0 {
		n.bus.send(store.SessionEvent{TokenHashes: hashes})
	}
	return err
}

func (n *notifyingStore) SignInSession(ctx context.Context, h [32]byte, userID int64, provider, verifiedHash string, at time.Time) error {
	return n.published(n.Store.SignInSession(ctx, h, userID, provider, verifiedHash, at), h)
}

func (n *notifyingStore) SignOutSession(ctx context.Context, h [32]byte, at time.Time) error {
	return n.published(n.Store.SignOutSession(ctx, h, at), h)
}

func (n *notifyingStore) DeleteSession(ctx context.Context, h [32]byte) error {
	return n.published(n.Store.DeleteSession(ctx, h), h)
}

func (n *notifyingStore) ExpireSession(ctx context.Context, h [32]byte, lastRequest time.Time) (bool, error) {
	removed, err := n.Store.ExpireSession(ctx, h, lastRequest)
	if removed {
		err = n.published(err, h)
	}
	return removed, err
}

func (n *notifyingStore) DeleteOtherUserSessions(ctx context.Context, userID int64, keep [32]byte) ([]string, [][32]byte, error) {
	ids, hs, err := n.Store.DeleteOtherUserSessions(ctx, userID, keep)
	return ids, hs, n.published(err, hs...)
}

func (n *notifyingStore) DeleteUserSession(ctx context.Context, userID int64, sessionID string) ([32]byte, error) {
	h, err := n.Store.DeleteUserSession(ctx, userID, sessionID)
	return h, n.published(err, h)
}

func (n *notifyingStore) UpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	u, revoked, err := n.Store.UpdateUser(ctx, c)
	return u, revoked, n.published(err, revoked...)
}

func (n *notifyingStore) DeleteUser(ctx context.Context, sessionHash [32]byte, userID int64) ([][32]byte, error) {
	revoked, err := n.Store.DeleteUser(ctx, sessionHash, userID)
	return revoked, n.published(err, revoked...)
}

func (n *notifyingStore) ConsumeResetToken(ctx context.Context, h [32]byte, now time.Time, passwordHash string) (int64, [][32]byte, error) {
	userID, revoked, err := n.Store.ConsumeResetToken(ctx, h, now, passwordHash)
	return userID, revoked, n.published(err, revoked...)
}

// sharedEngines opens two engines, A and B, on one SQLite database through two stores that
// publish their session changes on one bus, as two instances on one shared database would.
func sharedEngines(t *testing.T) (a, b *testEngine, bus *sessionBus) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authcube.db")
	bus = newSessionBus()
	open := func(seed byte) *testEngine {
		st, err := sqlite.Open(ctx, path, sqlite.Options{})
		require.NoError(t, err)
		return newTestEngine(t, withStore(t, &notifyingStore{Store: st, bus: bus}, seed))
	}
	return open(1), open(2), bus
}

// A store.Notifier keeps the session cache on, and a session ended through one engine is
// refused at once by another engine that had it cached.
func TestNotifierStoreKeepsCachesCoherent(t *testing.T) {
	t.Parallel()
	a, b, _ := sharedEngines(t)
	_, s := a.signedIn(t, "marvin18")
	_, err := b.Session(ctx, s.Token) // now cached in B
	require.NoError(t, err)
	calls := countStore(b)
	_, err = b.Session(ctx, s.Token)
	require.NoError(t, err)
	assert.Zero(t, calls.total(), "B answers from its cache; calls: %v", calls.calls)

	require.NoError(t, a.DestroySession(ctx, s.Token))
	_, err = b.Session(ctx, s.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

// While the subscription is lost, an engine answers nothing from its cache: sessions ended
// elsewhere meanwhile (their events never delivered) are refused, also after the subscription is
// back, and then the cache is used again.
func TestNotifierLostSubscriptionEmptiesCache(t *testing.T) {
	t.Parallel()
	a, b, bus := sharedEngines(t)
	_, s1 := a.signedIn(t, "marvin18")
	_, s2 := a.signedIn(t, "arthur42")
	_, err := b.Session(ctx, s1.Token)
	require.NoError(t, err)
	require.Equal(t, 1, authcube.CachedSessions(b.Engine))

	bus.lose()
	assert.Zero(t, authcube.CachedSessions(b.Engine), "a lost subscription empties the cache")
	require.NoError(t, a.DestroySession(ctx, s1.Token)) // B never hears of it
	_, err = b.Session(ctx, s1.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")

	_, err = b.Session(ctx, s2.Token) // answered by the store, not cached
	require.NoError(t, err)
	require.NoError(t, a.DestroySession(ctx, s2.Token))
	_, err = b.Session(ctx, s2.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")

	// A session B creates while lost, ended by A while lost, is refused after the resume too.
	s3, err := b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	require.NoError(t, a.DestroySession(ctx, s3.Token))
	bus.resume()
	_, err = b.Session(ctx, s3.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")

	// Back: B answers from its cache again, and hears of A's changes.
	s4, err := a.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err)
	_, err = b.Session(ctx, s4.Token)
	require.NoError(t, err)
	calls := countStore(b)
	_, err = b.Session(ctx, s4.Token)
	require.NoError(t, err)
	assert.Zero(t, calls.total(), "calls: %v", calls.calls)
	require.NoError(t, a.DestroySession(ctx, s4.Token))
	_, err = b.Session(ctx, s4.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of revocation tombstones (S33): a revoked session's token hash
// answers ErrRevoked until its absolute lifetime is over, an expired one ErrNotFound.

// runRevoked registers the subtests of tombstones.
func runRevoked(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("Tombstones", func(t *testing.T) {
		sub(t, "DeleteUserSession", testTombstoneDeleteUserSession)
		sub(t, "ExpiryLeavesNone", testTombstoneExpiryLeavesNone)
		sub(t, "SweptAfterMaxAge", testTombstoneSwept)
		sub(t, "DeadForWrites", testTombstoneDeadForWrites)
		sub(t, "DeleteOtherUserSessions", testTombstoneDeleteOtherUserSessions)
		sub(t, "KeepsTheFirst", testTombstoneKeepsTheFirst)
	})
}

func testTombstoneDeleteUserSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, numberedUser(1))
	other := createUser(t, s, numberedUser(2))
	lost, kept := userSession("lost", u.ID, at(0)), userSession("kept", u.ID, at(0))
	theirs := userSession("theirs", other.ID, at(0))
	createSessions(t, s, lost, kept, theirs)

	// Another user's session id is not found, and leaves no tombstone.
	_, err := s.DeleteUserSession(ctx, u.ID, theirs.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	requireSession(t, s, theirs)

	h, err := s.DeleteUserSession(ctx, u.ID, lost.ID)
	require.NoError(t, err)
	require.Equal(t, lost.TokenHash, h)
	requireRevoked(t, s, lost.TokenHash)
	requireSession(t, s, kept)
	list, err := s.UserSessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 1, "a tombstone is no session")
}

func testTombstoneExpiryLeavesNone(t *testing.T, s store.Store) {
	ctx := t.Context()
	idle, old := appSession("idle", at(0)), appSession("old", at(0))
	createSessions(t, s, idle, old)
	removed, err := s.ExpireSession(ctx, idle.TokenHash, idle.LastRequestAt)
	require.NoError(t, err)
	require.True(t, removed)
	requireNoSession(t, s, idle.TokenHash)
	n, err := s.DeleteExpiredSessions(ctx, at(time.Minute), at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	requireNoSession(t, s, old.TokenHash)
}

// A tombstone lasts as long as the session could have lived: until startedBefore passes the
// sign-in (user sessions) or the creation (application sessions), whatever the idle time.
func testTombstoneSwept(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, numberedUser(1))
	app := appSession("app", at(0))
	user := appSession("user", at(0))
	user.UserID, user.Provider, user.SignedInAt = u.ID, "password", at(time.Hour)
	user.LastRequestAt = at(time.Hour)
	createSessions(t, s, app, user)
	require.NoError(t, s.DeleteSession(ctx, app.TokenHash))
	require.NoError(t, s.DeleteSession(ctx, user.TokenHash))

	// Idle long ago, but started at 0 and 1h: kept while startedBefore is not after the start.
	_, err := s.DeleteExpiredSessions(ctx, at(48*time.Hour), at(0))
	require.NoError(t, err)
	requireRevoked(t, s, app.TokenHash)
	requireRevoked(t, s, user.TokenHash)

	_, err = s.DeleteExpiredSessions(ctx, at(48*time.Hour), at(time.Minute))
	require.NoError(t, err)
	requireNoSession(t, s, app.TokenHash)
	requireRevoked(t, s, user.TokenHash)

	_, err = s.DeleteExpiredSessions(ctx, at(48*time.Hour), at(time.Hour+time.Millisecond))
	require.NoError(t, err)
	requireNoSession(t, s, user.TokenHash)
}

// A tombstone is not a session: nothing can touch, sign in or sign out through it.
func testTombstoneDeadForWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, numberedUser(1))
	se := userSession("gone", u.ID, at(0))
	createSessions(t, s, se)
	require.NoError(t, s.DeleteSession(ctx, se.TokenHash))

	require.ErrorIs(t, s.TouchSession(ctx, se.TokenHash, at(time.Minute)), store.ErrNotFound)
	require.ErrorIs(t, s.SignInSession(ctx, se.TokenHash, u.ID, "password", "", at(time.Minute)), store.ErrNotFound)
	require.ErrorIs(t, s.SignOutSession(ctx, se.TokenHash, at(time.Minute)), store.ErrNotFound)
	removed, err := s.ExpireSession(ctx, se.TokenHash, at(time.Hour))
	require.NoError(t, err)
	require.False(t, removed)
	require.NoError(t, s.RecordActivity(ctx, []store.Activity{{TokenHash: se.TokenHash, UserID: u.ID, At: at(time.Minute)}}))
	requireRevoked(t, s, se.TokenHash)
}

// DeleteOtherUserSessions revokes all of the user's sessions but one, leaving tombstones, and
// nothing when that one no longer acts for the user.
func testTombstoneDeleteOtherUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, numberedUser(1))
	other := createUser(t, s, numberedUser(2))
	a, b, kept := userSession("a", u.ID, at(0)), userSession("b", u.ID, at(time.Second)), userSession("kept", u.ID, at(0))
	theirs, app := userSession("theirs", other.ID, at(0)), appSession("app", at(0))
	createSessions(t, s, a, b, kept, theirs, app)

	_, _, err := s.DeleteOtherUserSessions(ctx, u.ID, theirs.TokenHash)
	require.ErrorIs(t, err, store.ErrNotFound, "another user's session")
	_, _, err = s.DeleteOtherUserSessions(ctx, u.ID, app.TokenHash)
	require.ErrorIs(t, err, store.ErrNotFound, "an application session")
	requireSession(t, s, a)

	ids, hashes, err := s.DeleteOtherUserSessions(ctx, u.ID, kept.TokenHash)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{a.ID, b.ID}, ids)
	require.ElementsMatch(t, [][32]byte{a.TokenHash, b.TokenHash}, hashes)
	for i := range ids {
		require.Equal(t, map[string][32]byte{a.ID: a.TokenHash, b.ID: b.TokenHash}[ids[i]], hashes[i], "ids and hashes in the same order")
	}
	requireRevoked(t, s, a.TokenHash)
	requireRevoked(t, s, b.TokenHash)
	requireSession(t, s, kept)
	requireSession(t, s, theirs)
	requireSession(t, s, app)

	ids, hashes, err = s.DeleteOtherUserSessions(ctx, u.ID, kept.TokenHash)
	require.NoError(t, err)
	require.Empty(t, ids)
	require.Empty(t, hashes)
}

// A token hash revoked twice (a session stored again under a revoked hash) keeps its first
// tombstone: the sweep goes by the first session's start.
func testTombstoneKeepsTheFirst(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := appSession("twice", at(0))
	createSessions(t, s, first)
	require.NoError(t, s.DeleteSession(ctx, first.TokenHash))
	again := appSession("twice", at(2*time.Hour))
	if err := s.CreateSession(ctx, again, ""); err != nil {
		t.Skipf("the store refuses a revoked token hash: %v", err)
	}
	require.NoError(t, s.DeleteSession(ctx, again.TokenHash))
	_, err := s.DeleteExpiredSessions(ctx, at(48*time.Hour), at(time.Hour))
	require.NoError(t, err)
	requireNoSession(t, s, first.TokenHash)
}

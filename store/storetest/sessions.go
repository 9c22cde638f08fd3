package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of store.Sessions.

// runSessions registers the subtests of store.Sessions.
func runSessions(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("CreateSession", func(t *testing.T) {
		sub(t, "ApplicationSession", testCreateAppSession)
		sub(t, "UserSession", testCreateUserSession)
		sub(t, "Duplicate", testCreateSessionDuplicate)
		sub(t, "UnknownUser", testCreateSessionUnknownUser)
		sub(t, "CancelledContext", testCreateSessionCancelled)
	})
	t.Run("Session", func(t *testing.T) {
		sub(t, "Unknown", func(t *testing.T, s store.Store) { requireNoSession(t, s, tokenHash("nobody")) })
	})
	t.Run("TouchSession", func(t *testing.T) {
		sub(t, "Monotonic", testTouchMonotonic)
		sub(t, "User", testTouchUser)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			err := s.TouchSession(t.Context(), tokenHash("nobody"), at(time.Minute))
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	})
	t.Run("SignInSession", func(t *testing.T) {
		sub(t, "SignsIn", testSignIn)
		sub(t, "UnknownSession", testSignInUnknownSession)
		sub(t, "UnknownUser", testSignInUnknownUser)
	})
	t.Run("SignOutSession", func(t *testing.T) {
		sub(t, "SignsOut", testSignOut)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			err := s.SignOutSession(t.Context(), tokenHash("nobody"), at(time.Minute))
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	})
	t.Run("DeleteSession", func(t *testing.T) {
		sub(t, "Deletes", testDeleteSession)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			require.ErrorIs(t, s.DeleteSession(t.Context(), tokenHash("nobody")), store.ErrNotFound)
		})
	})
	t.Run("RecordActivity", func(t *testing.T) {
		sub(t, "LaterWins", testRecordActivity)
	})
	t.Run("UserSessions", func(t *testing.T) {
		sub(t, "OldestFirst", testUserSessions)
	})
	t.Run("DeleteUserSession", func(t *testing.T) {
		sub(t, "Deletes", testDeleteUserSession)
	})
	t.Run("DeleteExpiredSessions", func(t *testing.T) {
		sub(t, "IdleAndStarted", testDeleteExpiredSessions)
	})
	t.Run("ExpireSession", func(t *testing.T) {
		sub(t, "Matching", testExpireMatching)
		sub(t, "Slid", testExpireSlid)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			removed, err := s.ExpireSession(t.Context(), tokenHash("nobody"), at(0))
			require.NoError(t, err)
			require.False(t, removed)
		})
	})
}

func testCreateAppSession(t *testing.T, s store.Store) {
	se := appSession("app", at(1234*time.Millisecond))
	se.LastRequestAt = at(5678 * time.Millisecond)
	require.NoError(t, s.CreateSession(t.Context(), se, ""))
	requireSession(t, s, se)
}

func testCreateUserSession(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser("alice"))
	se := appSession("user", at(time.Second))
	se.UserID = u.ID
	se.Provider = "password"
	se.SignedInAt = at(2*time.Second + 3*time.Millisecond)
	se.LastRequestAt = at(3*time.Second + 4*time.Millisecond)
	require.NoError(t, s.CreateSession(t.Context(), se, ""))
	requireSession(t, s, se)
}

func testCreateSessionDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := appSession("first", at(0))
	require.NoError(t, s.CreateSession(ctx, first, ""))

	sameHash := appSession("other", at(time.Minute))
	sameHash.TokenHash = first.TokenHash
	assert.Error(t, s.CreateSession(ctx, sameHash, ""), "duplicate token hash")
	requireSession(t, s, first)
}

func testCreateSessionUnknownUser(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser("alice"))
	se := appSession("orphan", at(0))
	se.UserID = u.ID + 1000
	se.Provider = "password"
	se.SignedInAt = at(0)
	require.ErrorIs(t, s.CreateSession(t.Context(), se, ""), store.ErrNotFound)
	requireNoSession(t, s, se.TokenHash)
}

// testCreateSessionCancelled checks the contract of a write under a cancelled ctx: it either
// failed and stored nothing, or returned nil and stored the session.
func testCreateSessionCancelled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for i := range 20 {
		se := appSession(fmt.Sprintf("cancelled-%d", i), at(time.Duration(i)*time.Millisecond))
		if err := s.CreateSession(ctx, se, ""); err != nil {
			requireNoSession(t, s, se.TokenHash)
		} else {
			requireSession(t, s, se)
		}
	}
}

func testTouchMonotonic(t *testing.T, s store.Store) {
	ctx := t.Context()
	se := appSession("app", at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))

	require.NoError(t, s.TouchSession(ctx, se.TokenHash, at(time.Hour+7*time.Millisecond)))
	se.LastRequestAt = at(time.Hour + 7*time.Millisecond)
	requireSession(t, s, se)

	require.NoError(t, s.TouchSession(ctx, se.TokenHash, at(time.Minute)), "an earlier time is not an error")
	requireSession(t, s, se)

	require.NoError(t, s.TouchSession(ctx, se.TokenHash, se.LastRequestAt), "the same time")
	requireSession(t, s, se)
}

func testTouchUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	other := createUser(t, s, newUser("bob"))
	se := appSession("user", at(time.Second))
	se.UserID, se.Provider, se.SignedInAt = u.ID, "password", at(time.Second)
	require.NoError(t, s.CreateSession(ctx, se, ""))

	later := at(2*time.Hour + 9*time.Millisecond)
	require.NoError(t, s.TouchSession(ctx, se.TokenHash, later))
	se.LastRequestAt = later
	requireSession(t, s, se)
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, later, got.LastRequestAt.UTC(), "the user's last request moves with its session")

	require.NoError(t, s.TouchSession(ctx, se.TokenHash, at(time.Hour)))
	requireSession(t, s, se)
	got, err = s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, later, got.LastRequestAt.UTC(), "never back")
	assert.Equal(t, normUser(u), normUser(withLastRequest(got, u.LastRequestAt)), "nothing else of the user changes")

	got, err = s.User(ctx, other.ID)
	require.NoError(t, err)
	assert.Equal(t, normUser(other), normUser(got), "other users are untouched")
}

func withLastRequest(u store.User, t time.Time) store.User {
	u.LastRequestAt = t
	return u
}

func testSignIn(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	se := appSession("app", at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))

	when := at(time.Hour + 42*time.Millisecond)
	require.NoError(t, s.SignInSession(ctx, se.TokenHash, u.ID, "firebase", "", when))
	se.UserID, se.Provider, se.SignedInAt, se.LastRequestAt = u.ID, "firebase", when, when
	requireSession(t, s, se)
}

func testSignInUnknownSession(t *testing.T, s store.Store) {
	u := createUser(t, s, newUser("alice"))
	err := s.SignInSession(t.Context(), tokenHash("nobody"), u.ID, "password", "", at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	requireNoSession(t, s, tokenHash("nobody"))
}

func testSignInUnknownUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	se := appSession("app", at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))

	err := s.SignInSession(ctx, se.TokenHash, u.ID+1000, "password", "", at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	requireSession(t, s, se)

	// A session acting for a user keeps that user when the sign-in fails.
	require.NoError(t, s.SignInSession(ctx, se.TokenHash, u.ID, "password", "", at(2*time.Minute)))
	se.UserID, se.Provider, se.SignedInAt, se.LastRequestAt = u.ID, "password", at(2*time.Minute), at(2*time.Minute)
	err = s.SignInSession(ctx, se.TokenHash, u.ID+1000, "other", "", at(3*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound)
	requireSession(t, s, se)
}

func testSignOut(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	se := appSession("user", at(0))
	se.UserID, se.Provider, se.SignedInAt = u.ID, "password", at(time.Second)
	require.NoError(t, s.CreateSession(ctx, se, ""))

	when := at(time.Hour + 5*time.Millisecond)
	require.NoError(t, s.SignOutSession(ctx, se.TokenHash, when))
	se.UserID, se.Provider, se.SignedInAt, se.LastRequestAt = 0, "", time.Time{}, when
	requireSession(t, s, se)

	// Signing out an application session is not an error.
	require.NoError(t, s.SignOutSession(ctx, se.TokenHash, at(2*time.Hour)))
	se.LastRequestAt = at(2 * time.Hour)
	requireSession(t, s, se)

	// The user stays.
	_, err := s.User(ctx, u.ID)
	require.NoError(t, err)
}

func testDeleteSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	gone, kept := appSession("gone", at(0)), appSession("kept", at(0))
	require.NoError(t, s.CreateSession(ctx, gone, ""))
	require.NoError(t, s.CreateSession(ctx, kept, ""))

	require.NoError(t, s.DeleteSession(ctx, gone.TokenHash))
	requireRevoked(t, s, gone.TokenHash)
	require.ErrorIs(t, s.DeleteSession(ctx, gone.TokenHash), store.ErrNotFound, "deleting again")
	requireRevoked(t, s, gone.TokenHash)
	requireSession(t, s, kept)
}

func testExpireMatching(t *testing.T, s store.Store) {
	ctx := t.Context()
	se, other := appSession("idle", at(0)), appSession("other", at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))
	require.NoError(t, s.CreateSession(ctx, other, ""))

	removed, err := s.ExpireSession(ctx, se.TokenHash, se.LastRequestAt)
	require.NoError(t, err)
	require.True(t, removed)
	requireNoSession(t, s, se.TokenHash)
	requireSession(t, s, other)

	removed, err = s.ExpireSession(ctx, se.TokenHash, se.LastRequestAt)
	require.NoError(t, err)
	require.False(t, removed, "already gone")
}

func testExpireSlid(t *testing.T, s store.Store) {
	ctx := t.Context()
	se := appSession("busy", at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))
	require.NoError(t, s.TouchSession(ctx, se.TokenHash, at(time.Millisecond)))
	se.LastRequestAt = at(time.Millisecond)

	// A request recorded after the one the caller saw wins.
	removed, err := s.ExpireSession(ctx, se.TokenHash, at(0))
	require.NoError(t, err)
	require.False(t, removed)
	requireSession(t, s, se)

	// The caller may know of a later request than the store (activity not yet written back).
	removed, err = s.ExpireSession(ctx, se.TokenHash, at(2*time.Millisecond))
	require.NoError(t, err)
	require.True(t, removed)
	requireNoSession(t, s, se.TokenHash)
}

func testRecordActivity(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	app := appSession("app", at(0))
	user := userSession("user", u.ID, at(0))
	createSessions(t, s, app, user)
	require.NoError(t, s.RecordActivity(ctx, nil))
	require.NoError(t, s.RecordActivity(ctx, []store.Activity{
		{TokenHash: app.TokenHash, At: at(3 * time.Minute)},
		{TokenHash: user.TokenHash, UserID: u.ID, At: at(2 * time.Minute)},
		{TokenHash: tokenHash("gone"), UserID: u.ID, At: at(9 * time.Minute)}, // skipped, user untouched
	}))
	app.LastRequestAt, user.LastRequestAt = at(3*time.Minute), at(2*time.Minute)
	requireSession(t, s, app)
	requireSession(t, s, user)
	requireUserEverywhere(t, s, withLastRequest(u, at(2*time.Minute)))

	// Earlier activity never moves a time back.
	require.NoError(t, s.RecordActivity(ctx, []store.Activity{
		{TokenHash: app.TokenHash, At: at(time.Minute)},
		{TokenHash: user.TokenHash, UserID: u.ID, At: at(time.Minute)},
	}))
	requireSession(t, s, app)
	requireSession(t, s, user)
	requireUserEverywhere(t, s, withLastRequest(u, at(2*time.Minute)))
}

func testUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, newUser("alice"))
	bob := createUser(t, s, newUser("bob"))
	s3 := userSession("a3", alice.ID, at(3*time.Minute))
	s1 := userSession("a1", alice.ID, at(time.Minute))
	s2 := userSession("a2", alice.ID, at(2*time.Minute))
	createSessions(t, s, s3, s1, s2, userSession("b", bob.ID, at(0)), appSession("app", at(0)))
	list, err := s.UserSessions(ctx, alice.ID)
	require.NoError(t, err)
	require.Len(t, list, 3)
	for i, want := range []store.Session{s1, s2, s3} {
		assert.Equal(t, normSession(want), normSession(list[i]), "session %d", i)
	}
	for _, id := range []int64{0, 1 << 40} {
		list, err := s.UserSessions(ctx, id)
		require.NoError(t, err)
		assert.Empty(t, list, "user %d", id)
	}
}

func testDeleteUserSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	alice := createUser(t, s, newUser("alice"))
	bob := createUser(t, s, newUser("bob"))
	a1, a2 := userSession("a1", alice.ID, at(0)), userSession("a2", alice.ID, at(0))
	b := userSession("b", bob.ID, at(0))
	app := appSession("app", at(0))
	createSessions(t, s, a1, a2, b, app)

	for _, c := range []struct {
		userID int64
		id     string
	}{{alice.ID, b.ID}, {bob.ID, a1.ID}, {alice.ID, app.ID}, {0, app.ID}, {alice.ID, "no-such-id"}, {alice.ID, ""}} {
		_, err := s.DeleteUserSession(ctx, c.userID, c.id)
		assert.ErrorIs(t, err, store.ErrNotFound, "user %d, session %q", c.userID, c.id)
	}
	h, err := s.DeleteUserSession(ctx, alice.ID, a1.ID)
	require.NoError(t, err)
	assert.Equal(t, a1.TokenHash, h)
	requireRevoked(t, s, a1.TokenHash)
	_, err = s.DeleteUserSession(ctx, alice.ID, a1.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "deleted already")
	for _, se := range []store.Session{a2, b, app} {
		requireSession(t, s, se)
	}
}

func testDeleteExpiredSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	// idleBefore is at(10m), startedBefore at(5m).
	idle := appSession("idle", at(0)) // last request at(0) < 10m
	idleAt := appSession("idle-at-edge", at(6*time.Minute))
	idleAt.LastRequestAt = at(10 * time.Minute) // not before: kept
	oldApp := appSession("old-app", at(4*time.Minute))
	oldApp.LastRequestAt = at(20 * time.Minute) // created before 5m: gone
	keptApp := appSession("kept-app", at(5*time.Minute))
	keptApp.LastRequestAt = at(20 * time.Minute) // created at 5m, not before: kept
	oldUser := userSession("old-user", u.ID, at(0))
	oldUser.SignedInAt, oldUser.LastRequestAt = at(4*time.Minute), at(20*time.Minute) // signed in before 5m: gone
	keptUser := userSession("kept-user", u.ID, at(0))                                 // created before 5m, signed in after: kept
	keptUser.SignedInAt, keptUser.LastRequestAt = at(6*time.Minute), at(20*time.Minute)
	createSessions(t, s, idle, idleAt, oldApp, keptApp, oldUser, keptUser)

	n, err := s.DeleteExpiredSessions(ctx, at(10*time.Minute), at(5*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	for _, h := range [][32]byte{idle.TokenHash, oldApp.TokenHash, oldUser.TokenHash} {
		requireNoSession(t, s, h)
	}
	for _, se := range []store.Session{idleAt, keptApp, keptUser} {
		requireSession(t, s, se)
	}
	n, err = s.DeleteExpiredSessions(ctx, at(10*time.Minute), at(5*time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n)
}

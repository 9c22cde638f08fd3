package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of store.Identities.

// runIdentities registers the subtests of store.Identities.
func runIdentities(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("CreateIdentityUser", func(t *testing.T) {
		sub(t, "RoundTrip", testCreateIdentityUser)
		sub(t, "IdentityConflict", testCreateIdentityUserConflict)
		sub(t, "LoginConflict", testCreateIdentityUserLoginConflict)
	})
	t.Run("UserByIdentity", func(t *testing.T) {
		sub(t, "DeletedWithUser", testIdentityDeletedWithUser)
	})
	t.Run("RefreshUserName", func(t *testing.T) {
		sub(t, "Refreshes", testRefreshUserName)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			err := s.RefreshUserName(t.Context(), 1<<40, "Nobody", at(time.Minute))
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	})
}

// createIdentityUser creates u with the identity (provider, subject) and returns it with its id.
func createIdentityUser(t *testing.T, s store.Store, provider, subject string, u store.User) store.User {
	t.Helper()
	id, err := s.CreateIdentityUser(t.Context(), provider, subject, u)
	require.NoError(t, err)
	require.Positive(t, id)
	u.ID = id
	return u
}

func testCreateIdentityUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	plain := createUser(t, s, newUser("bob"))
	u := fullUser()
	u.PasswordHash = ""
	u = createIdentityUser(t, s, "firebase_phone", "sub-1", u)
	assert.Greater(t, u.ID, plain.ID, "ids are shared with CreateUser and never reused")
	requireUserEverywhere(t, s, u)

	got, err := s.UserByIdentity(ctx, "firebase_phone", "sub-1")
	require.NoError(t, err)
	assert.Equal(t, normUser(u), normUser(got))
	subject, err := s.IdentitySubject(ctx, u.ID, "firebase_phone")
	require.NoError(t, err)
	assert.Equal(t, "sub-1", subject)

	for _, c := range [][2]string{{"firebase_phone", "sub-2"}, {"firebase_email", "sub-1"}, {"firebase_phone", "SUB-1"}, {"", ""}} {
		_, err := s.UserByIdentity(ctx, c[0], c[1])
		assert.ErrorIs(t, err, store.ErrNotFound, "identity %q", c)
	}
	for _, c := range []struct {
		id       int64
		provider string
	}{{u.ID, "firebase_email"}, {plain.ID, "firebase_phone"}, {1 << 40, "firebase_phone"}} {
		_, err := s.IdentitySubject(ctx, c.id, c.provider)
		assert.ErrorIs(t, err, store.ErrNotFound, "user %d at %q", c.id, c.provider)
	}

	// The same subject at another provider is another identity.
	other := createIdentityUser(t, s, "firebase_email", "sub-1", newUser("carol"))
	got, err = s.UserByIdentity(ctx, "firebase_email", "sub-1")
	require.NoError(t, err)
	assert.Equal(t, other.ID, got.ID)
}

func testCreateIdentityUserConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := createIdentityUser(t, s, "custom", "42", newUser("alice"))
	_, err := s.CreateIdentityUser(ctx, "custom", "42", newUser("bob"))
	requireConflict(t, err, "identity")
	_, err = s.UserByLogin(ctx, "bob")
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing of the failed user is stored")
	got, err := s.UserByIdentity(ctx, "custom", "42")
	require.NoError(t, err)
	assert.Equal(t, first.ID, got.ID)
}

func testCreateIdentityUserLoginConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUser(t, s, newUser("alice"))
	_, err := s.CreateIdentityUser(ctx, "custom", "42", newUser("alice"))
	requireConflict(t, err, "login")
	_, err = s.UserByIdentity(ctx, "custom", "42")
	assert.ErrorIs(t, err, store.ErrNotFound, "no identity without its user")
	u := newUser("bob")
	u.Email, u.EmailCanon = "alice@example.com", "alice@example.com"
	createUser(t, s, u)
	u.Login, u.LoginCanon = "carol", "carol"
	_, err = s.CreateIdentityUser(ctx, "custom", "43", u)
	requireConflict(t, err, "email")
}

func testIdentityDeletedWithUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createIdentityUser(t, s, "custom", "42", newUser("alice"))
	se := userSession("alice", u.ID, at(0))
	createSessions(t, s, se)
	_, err := s.DeleteUser(ctx, se.TokenHash, u.ID)
	require.NoError(t, err)
	_, err = s.UserByIdentity(ctx, "custom", "42")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.IdentitySubject(ctx, u.ID, "custom")
	require.ErrorIs(t, err, store.ErrNotFound)
	// The identity is free again: the subject may sign up anew, as a new user.
	again := createIdentityUser(t, s, "custom", "42", newUser("alice"))
	assert.Greater(t, again.ID, u.ID)
}

func testRefreshUserName(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := newUser("alice")
	u.FullName = "Alice"
	u = createIdentityUser(t, s, "custom", "42", u)

	// Unchanged: nothing happens, not even updated_at.
	require.NoError(t, s.RefreshUserName(ctx, u.ID, "Alice", at(time.Minute)))
	requireUserEverywhere(t, s, u)

	require.NoError(t, s.RefreshUserName(ctx, u.ID, "Alice Smith", at(2*time.Minute)))
	u.FullName, u.UpdatedAt = "Alice Smith", at(2*time.Minute)
	requireUserEverywhere(t, s, u)
	assert.Equal(t, []int64{u.ID}, fullNameSearch(t, s, "smith"), "the search follows the new name")
}

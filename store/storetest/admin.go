package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// runAdmin tests the optional store.Admin ability; a store without it skips these.
func runAdmin(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	admin := func(f func(t *testing.T, s store.Store, a store.Admin)) func(t *testing.T, s store.Store) {
		return func(t *testing.T, s store.Store) {
			a, ok := s.(store.Admin)
			if !ok {
				t.Skip("the store has no store.Admin ability")
			}
			f(t, s, a)
		}
	}
	t.Run("Admin", func(t *testing.T) {
		sub(t, "DisableEndsSessionsAndRefusesNew", admin(testAdminDisable))
		sub(t, "UpdatePasswordEndsAllSessions", admin(testAdminUpdate))
		sub(t, "DeleteAndRevoke", admin(testAdminDelete))
		sub(t, "AllUsersAndCounts", admin(testAdminList))
		sub(t, "InsertUsers", admin(testAdminInsert))
		sub(t, "InsertUsersAsOneByOne", admin(testAdminInsertMany))
	})
}

func testAdminDisable(t *testing.T, s store.Store, a store.Admin) {
	ctx := t.Context()
	u := numberedUser(1)
	u.PasswordHash = "h1"
	id, err := s.CreateUser(ctx, u)
	require.NoError(t, err)
	se := userSession("d1", id, at(0))
	createSessions(t, s, se)

	revoked, err := a.SetUserDisabled(ctx, id, true, at(time.Second))
	require.NoError(t, err)
	assert.Equal(t, [][32]byte{se.TokenHash}, revoked)
	_, err = s.Session(ctx, se.TokenHash)
	assert.ErrorIs(t, err, store.ErrRevoked)
	got, err := s.User(ctx, id)
	require.NoError(t, err)
	assert.True(t, got.Disabled)
	assert.Equal(t, at(time.Second), got.UpdatedAt.UTC())

	// A sign-in that verified the password before the disabling makes no session.
	assert.ErrorIs(t, s.CreateSession(ctx, userSession("d2", id, at(2*time.Second)), "h1"), store.ErrNotFound)
	assert.ErrorIs(t, s.CreateSession(ctx, userSession("d3", id, at(2*time.Second)), ""), store.ErrNotFound)
	app := appSession("d4", at(2*time.Second))
	require.NoError(t, s.CreateSession(ctx, app, ""))
	assert.ErrorIs(t, s.SignInSession(ctx, app.TokenHash, id, "password", "h1", at(2*time.Second)), store.ErrNotFound)

	_, err = a.SetUserDisabled(ctx, id, false, at(3*time.Second))
	require.NoError(t, err)
	require.NoError(t, s.CreateSession(ctx, userSession("d5", id, at(3*time.Second)), "h1"))
	got, err = s.User(ctx, id)
	require.NoError(t, err)
	assert.False(t, got.Disabled)

	_, err = a.SetUserDisabled(ctx, id+1000, true, at(3*time.Second))
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testAdminUpdate(t *testing.T, s store.Store, a store.Admin) {
	ctx := t.Context()
	id, err := s.CreateUser(ctx, numberedUser(1))
	require.NoError(t, err)
	other, err := s.CreateUser(ctx, numberedUser(2))
	require.NoError(t, err)
	s1, s2 := userSession("u1", id, at(0)), userSession("u2", id, at(0))
	createSessions(t, s, s1, s2)

	u, revoked, err := a.AdminUpdateUser(ctx, store.UserChange{UserID: id, FullName: ptr("New Name"), UpdatedAt: at(time.Second)})
	require.NoError(t, err)
	assert.Empty(t, revoked)
	assert.Equal(t, "New Name", u.FullName)

	u, revoked, err = a.AdminUpdateUser(ctx, store.UserChange{UserID: id, PasswordHash: ptr("new"), Tags: &[]string{"x"}, UpdatedAt: at(2 * time.Second)})
	require.NoError(t, err)
	assert.ElementsMatch(t, [][32]byte{s1.TokenHash, s2.TokenHash}, revoked)
	assert.Equal(t, "new", u.PasswordHash)
	assert.Equal(t, []string{"x"}, u.Tags)

	taken := "user_2"
	_, _, err = a.AdminUpdateUser(ctx, store.UserChange{UserID: id, Login: &taken, LoginCanon: &taken, UpdatedAt: at(3 * time.Second)})
	var ce *store.ConflictError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "login", ce.Field)
	_, _, err = a.AdminUpdateUser(ctx, store.UserChange{UserID: other + 1000, FullName: ptr("x"), UpdatedAt: at(3 * time.Second)})
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testAdminDelete(t *testing.T, s store.Store, a store.Admin) {
	ctx := t.Context()
	id, err := s.CreateUser(ctx, numberedUser(1))
	require.NoError(t, err)
	s1, s2 := userSession("r1", id, at(0)), userSession("r2", id, at(0))
	createSessions(t, s, s1, s2)

	revoked, err := a.RevokeUserSessions(ctx, id)
	require.NoError(t, err)
	assert.ElementsMatch(t, [][32]byte{s1.TokenHash, s2.TokenHash}, revoked)
	_, err = s.Session(ctx, s1.TokenHash)
	assert.ErrorIs(t, err, store.ErrRevoked)

	s3 := userSession("r3", id, at(time.Second))
	createSessions(t, s, s3)
	revoked, err = a.AdminDeleteUser(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, [][32]byte{s3.TokenHash}, revoked)
	_, err = s.User(ctx, id)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = a.AdminDeleteUser(ctx, id)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testAdminList(t *testing.T, s store.Store, a store.Admin) {
	ctx := t.Context()
	var ids []int64
	for i := range 5 {
		u := numberedUser(i)
		u.PasswordHash = "hash"
		id, err := s.CreateUser(ctx, u)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	_, err := a.SetUserDisabled(ctx, ids[1], true, at(time.Second))
	require.NoError(t, err)
	page, err := a.AllUsers(ctx, ids[0], 3)
	require.NoError(t, err)
	require.Equal(t, ids[1:4], userIDs(page))
	assert.Equal(t, "hash", page[0].PasswordHash, "AllUsers returns every field")
	assert.Equal(t, "user_1", page[0].LoginCanon)
	assert.True(t, page[0].Disabled)
	assert.False(t, page[1].Disabled)

	createSessions(t, s, userSession("c1", ids[0], at(0)), userSession("c2", ids[2], at(10*time.Second)), appSession("c3", at(10*time.Second)))
	c, err := a.Counts(ctx, at(5*time.Second), at(0))
	require.NoError(t, err)
	assert.Equal(t, store.Counts{Users: 5, DisabledUsers: 1, Sessions: 2, UserSessions: 1}, c)
}

func testAdminInsert(t *testing.T, s store.Store, a store.Admin) {
	ctx := t.Context()
	existing, err := s.CreateUser(ctx, plainUser(1))
	require.NoError(t, err)

	withID := plainUser(2)
	withID.ID = existing + 100
	withID.PasswordHash = "$2a$10$x"
	clash := plainUser(3)
	clash.Email, clash.EmailCanon = "User1@Example.com", "user1@example.com" // user 1's email
	res, err := a.InsertUsers(ctx, []store.User{withID, plainUser(1), clash, plainUser(4)}, false)
	require.NoError(t, err)
	require.Len(t, res, 4)
	assert.Equal(t, store.ImportResult{Status: store.ImportInserted, ID: existing + 100}, res[0])
	assert.Equal(t, store.ImportResult{Status: store.ImportExisting, ID: existing}, res[1])
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "email"}, res[2])
	assert.Equal(t, store.ImportInserted, res[3].Status)
	assert.Greater(t, res[3].ID, existing+100, "ids go on after the largest imported")

	got, err := s.User(ctx, existing+100)
	require.NoError(t, err)
	assert.Equal(t, "$2a$10$x", got.PasswordHash)
	assert.Equal(t, withID.Tags, got.Tags)
	assert.Equal(t, []int64{existing + 100}, queryTag(t, s, "own2").IDs)

	// Run again: everything is there; the id conflict is told apart.
	again := withID
	again.Login, again.LoginCanon = "other", "other"
	res, err = a.InsertUsers(ctx, []store.User{withID, again, plainUser(5)}, true)
	require.NoError(t, err)
	assert.Equal(t, []store.ImportResult{{Status: store.ImportExisting, ID: existing + 100}, {Status: store.ImportConflict, Field: "id"}}, res,
		"stops at the first conflict")
	_, err = s.UserByLogin(ctx, "user_5")
	assert.True(t, errors.Is(err, store.ErrNotFound), "nothing after the conflict is inserted")
	c, err := a.Counts(ctx, at(0), at(0))
	require.NoError(t, err)
	assert.Equal(t, int64(3), c.Users)
}

// testAdminInsertMany: a batch of many users (a store may insert them several at a time) is
// answered as if each were inserted in turn: a repeat within the batch is the user already
// there, a user refused for one key does not take the blame for a key that a later user of
// the batch took, and a stop at a conflict keeps nothing after it.
func testAdminInsertMany(t *testing.T, s store.Store, a store.Admin) {
	ctx := t.Context()
	prior, err := s.CreateUser(ctx, plainUser(9999))
	require.NoError(t, err)
	const n = 1300
	batch := make([]store.User, n)
	for i := range batch {
		batch[i] = plainUser(i)
	}
	batch[20] = batch[10] // the same user twice
	batch[30].Email, batch[30].EmailCanon = "User9999@Example.com", "user9999@example.com"
	batch[30].Login, batch[30].LoginCanon = "steal_me", "steal_me"
	batch[40].Login, batch[40].LoginCanon = "Steal_Me", "steal_me" // free when 40 goes in: 30 was refused
	batch[700].Login, batch[700].LoginCanon = "User_5", "user_5"   // 5's login, another email

	res, err := a.InsertUsers(ctx, batch, false)
	require.NoError(t, err)
	require.Len(t, res, n)
	assert.Equal(t, store.ImportResult{Status: store.ImportExisting, ID: res[10].ID}, res[20])
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "email"}, res[30], "30 was refused for its email")
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "login"}, res[700])
	ids := map[int64]bool{prior: true}
	for i, r := range res {
		if i == 20 || i == 30 || i == 700 {
			continue
		}
		require.Equal(t, store.ImportInserted, r.Status, "user %d", i)
		require.False(t, ids[r.ID], "user %d: id %d given twice", i, r.ID)
		ids[r.ID] = true
	}
	for _, i := range []int{0, 40, 511, 512, 1299} { // each result names its own user
		got, err := s.User(ctx, res[i].ID)
		require.NoError(t, err)
		assert.Equal(t, batch[i].LoginCanon, got.LoginCanon, "user %d", i)
		assert.Equal(t, batch[i].Tags, got.Tags, "user %d", i)
		assert.Equal(t, []int64{res[i].ID}, queryTag(t, s, fmt.Sprintf("own%d", i)).IDs, "user %d: tag rows", i)
	}
	c, err := a.Counts(ctx, at(0), at(0))
	require.NoError(t, err)
	assert.Equal(t, int64(n-3+1), c.Users)

	// Again, stopping at the first conflict: 700 now, and nothing after it goes in.
	more := make([]store.User, 0, n)
	for i := range n {
		u := plainUser(10000 + i)
		if i == 700 {
			u = batch[700]
		}
		more = append(more, u)
	}
	res, err = a.InsertUsers(ctx, more, true)
	require.NoError(t, err)
	require.Len(t, res, 701)
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "login"}, res[700])
	assert.Equal(t, store.ImportInserted, res[699].Status)
	_, err = s.UserByLogin(ctx, more[701].LoginCanon)
	assert.True(t, errors.Is(err, store.ErrNotFound), "nothing after the conflict is inserted")
	c, err = a.Counts(ctx, at(0), at(0))
	require.NoError(t, err)
	assert.Equal(t, int64(n-3+1+700), c.Users)
}

// plainUser is numberedUser without an id, as an import gives it.
func plainUser(n int) store.User {
	u := numberedUser(n)
	u.ID = 0
	return u
}

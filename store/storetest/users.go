package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of store.Users.

// runUsers registers the subtests of store.Users.
func runUsers(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("CreateUser", func(t *testing.T) {
		sub(t, "RoundTrip", testCreateUserRoundTrip)
		sub(t, "IncreasingIDs", testCreateUserIncreasingIDs)
		sub(t, "EmailOnly", testCreateUserEmailOnly)
		sub(t, "LoginOnly", testCreateUserLoginOnly)
		sub(t, "EmptyFields", testCreateUserEmptyFields)
		sub(t, "LoginConflict", testCreateUserLoginConflict)
		sub(t, "EmailConflict", testCreateUserEmailConflict)
	})
	t.Run("User", func(t *testing.T) {
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			createUser(t, s, newUser("alice"))
			for _, id := range []int64{0, -1, 1 << 40} {
				_, err := s.User(t.Context(), id)
				assert.ErrorIs(t, err, store.ErrNotFound, "id %d", id)
			}
		})
	})
	t.Run("UserByLogin", func(t *testing.T) {
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			createUser(t, s, newUser("alice"))
			for _, login := range []string{"bob", "alic", "alice ", ""} {
				_, err := s.UserByLogin(t.Context(), login)
				assert.ErrorIs(t, err, store.ErrNotFound, "login %q", login)
			}
		})
	})
	t.Run("UserByEmail", func(t *testing.T) {
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			u := newUser("alice")
			u.Email, u.EmailCanon = "alice@example.com", "alice@example.com"
			createUser(t, s, u)
			for _, email := range []string{"bob@example.com", "alice", ""} {
				_, err := s.UserByEmail(t.Context(), email)
				assert.ErrorIs(t, err, store.ErrNotFound, "email %q", email)
			}
		})
	})
	t.Run("SetPasswordHash", func(t *testing.T) {
		sub(t, "CompareAndSwap", testSetPasswordHash)
	})
	t.Run("UpdateUser", func(t *testing.T) {
		sub(t, "OnlyNonNilFields", testUpdateOnlyNonNil)
		sub(t, "ClearLoginAndEmail", testUpdateClear)
		sub(t, "IndexesFollow", testUpdateIndexesFollow)
		sub(t, "StaleSession", testUpdateStaleSession)
		sub(t, "WrongOldPassword", testUpdateWrongOldPassword)
		sub(t, "PasswordChangeRevokesOthers", testUpdatePasswordRevokes)
		sub(t, "SetFirstPassword", testUpdateFirstPassword)
		sub(t, "Conflict", testUpdateConflict)
		sub(t, "OwnLogin", testUpdateOwnLogin)
	})
	t.Run("DeleteUser", func(t *testing.T) {
		sub(t, "Deletes", testDeleteUser)
		sub(t, "WrongSession", testDeleteUserWrongSession)
		sub(t, "IDsNeverReused", testDeleteUserIDsNeverReused)
	})
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// userSession returns a session named name acting for userID, signed in at when.
func userSession(name string, userID int64, when time.Time) store.Session {
	se := appSession(name, when)
	se.UserID, se.Provider, se.SignedInAt = userID, "password", when
	return se
}

// createSessions stores the sessions.
func createSessions(t *testing.T, s store.Store, ses ...store.Session) {
	t.Helper()
	for _, se := range ses {
		require.NoError(t, s.CreateSession(t.Context(), se, ""))
	}
}

// numberedUser returns fullUser with login, email, phone and external id made distinct by n.
func numberedUser(n int) store.User {
	u := fullUser()
	u.Login, u.LoginCanon = fmt.Sprintf("User_%d", n), fmt.Sprintf("user_%d", n)
	u.Email, u.EmailCanon = fmt.Sprintf("User%d@Example.com", n), fmt.Sprintf("user%d@example.com", n)
	u.Phone = fmt.Sprintf("+1415555%04d", n)
	u.ExternalID = fmt.Sprintf("ext-%d", n)
	u.Tags = []string{fmt.Sprintf("own%d", n), "shared"}
	return u
}

// snapshot is what a failed write must leave as it was: the users, the sessions named, and
// who has each tag (through the tag index, with its total).
type snapshot struct {
	Users    []store.User
	Sessions map[[32]byte]store.Session
	Tags     map[string]tagResult
}

type tagResult struct {
	IDs   []int64
	Total int
}

// takeSnapshot reads the state of ids, of the sessions hashes and of the tags.
func takeSnapshot(t *testing.T, s store.Store, ids []int64, hashes [][32]byte, tags []string) snapshot {
	t.Helper()
	ctx := t.Context()
	var snap snapshot
	for _, id := range ids {
		u, err := s.User(ctx, id)
		require.NoError(t, err)
		snap.Users = append(snap.Users, normUser(u))
	}
	snap.Sessions = map[[32]byte]store.Session{}
	for _, h := range hashes {
		se, err := s.Session(ctx, h)
		if err == nil {
			snap.Sessions[h] = normSession(se)
		} else {
			require.ErrorIs(t, err, store.ErrNotFound)
		}
	}
	snap.Tags = map[string]tagResult{}
	for _, tag := range tags {
		snap.Tags[tag] = queryTag(t, s, tag)
	}
	return snap
}

// queryTag returns the ids of the users with the tag and the tag's total.
func queryTag(t *testing.T, s store.Store, tag string) tagResult {
	t.Helper()
	us, total, err := s.QueryUsers(t.Context(), store.Query{
		Conds:    []store.Cond{{Field: store.FieldTags, Op: store.OpEq, Values: []any{tag}}},
		Limit:    1000,
		TotalCap: 1000,
	})
	require.NoError(t, err)
	return tagResult{IDs: userIDs(us), Total: total}
}

// fullNameSearch returns the ids of the users whose full name contains sub.
func fullNameSearch(t *testing.T, s store.Store, sub string) []int64 {
	t.Helper()
	us, _, err := s.QueryUsers(t.Context(), store.Query{
		Conds: []store.Cond{{Field: store.FieldFullName, Op: store.OpContains, Values: []any{sub}}},
		Limit: 1000,
	})
	require.NoError(t, err)
	return userIDs(us)
}

func userIDs(us []store.User) []int64 {
	ids := make([]int64, 0, len(us))
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}

func testUpdateOnlyNonNil(t *testing.T, s store.Store) {
	const newHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaG5ldw"
	cases := []struct {
		name   string
		change func(c *store.UserChange, u store.User)
		want   func(u *store.User)
	}{
		{"Nothing", func(*store.UserChange, store.User) {}, func(*store.User) {}},
		{"Login", func(c *store.UserChange, _ store.User) {
			c.Login, c.LoginCanon = ptr("New_Login"), ptr("new_login")
		}, func(u *store.User) { u.Login, u.LoginCanon = "New_Login", "new_login" }},
		{"Email", func(c *store.UserChange, _ store.User) {
			c.Email, c.EmailCanon = ptr("New@Example.ORG"), ptr("new@example.org")
		}, func(u *store.User) { u.Email, u.EmailCanon = "New@Example.ORG", "new@example.org" }},
		{"FullName", func(c *store.UserChange, _ store.User) { c.FullName = ptr("Zoë Quinn") },
			func(u *store.User) { u.FullName = "Zoë Quinn" }},
		{"Phone", func(c *store.UserChange, _ store.User) { c.Phone = ptr("+447911123456") },
			func(u *store.User) { u.Phone = "+447911123456" }},
		{"Website", func(c *store.UserChange, _ store.User) { c.Website = ptr("https://new.example.com/") },
			func(u *store.User) { u.Website = "https://new.example.com/" }},
		{"ExternalID", func(c *store.UserChange, _ store.User) { c.ExternalID = ptr("ext-new") },
			func(u *store.User) { u.ExternalID = "ext-new" }},
		{"CustomData", func(c *store.UserChange, _ store.User) { c.CustomData = ptr(`{"x":2}`) },
			func(u *store.User) { u.CustomData = `{"x":2}` }},
		{"Tags", func(c *store.UserChange, _ store.User) { c.Tags = ptr([]string{"new", "shared"}) },
			func(u *store.User) { u.Tags = []string{"new", "shared"} }},
		{"NoTags", func(c *store.UserChange, _ store.User) { c.Tags = ptr([]string{}) },
			func(u *store.User) { u.Tags = nil }},
		{"EmptyStrings", func(c *store.UserChange, _ store.User) {
			c.FullName, c.Phone, c.Website, c.ExternalID, c.CustomData, c.AvatarUID =
				ptr(""), ptr(""), ptr(""), ptr(""), ptr(""), ptr("")
		}, func(u *store.User) {
			u.FullName, u.Phone, u.Website, u.ExternalID, u.CustomData, u.AvatarUID = "", "", "", "", "", ""
		}},
		{"PasswordHash", func(c *store.UserChange, u store.User) {
			c.PasswordHash, c.OldPasswordHash = ptr(newHash), u.PasswordHash
		}, func(u *store.User) { u.PasswordHash = newHash }},
		{"Several", func(c *store.UserChange, _ store.User) {
			c.FullName, c.Phone, c.Tags = ptr("Someone Else"), ptr("123456789"), ptr([]string{"b", "a"})
		}, func(u *store.User) { u.FullName, u.Phone, u.Tags = "Someone Else", "123456789", []string{"b", "a"} }},
	}
	ctx := t.Context()
	updated := at(3*time.Hour + 7*time.Millisecond)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := createUser(t, s, numberedUser(i))
			other := createUser(t, s, numberedUser(100+i))
			se := userSession(fmt.Sprintf("update-%d", i), u.ID, at(time.Minute))
			createSessions(t, s, se)

			c := store.UserChange{UserID: u.ID, SessionHash: se.TokenHash, UpdatedAt: updated}
			tc.change(&c, u)
			got, revoked, err := s.UpdateUser(ctx, c)
			require.NoError(t, err)

			want := u
			want.UpdatedAt = updated
			tc.want(&want)
			assert.Equal(t, normUser(want), normUser(got), "the returned user")
			requireUserEverywhere(t, s, want)
			requireUserEverywhere(t, s, other)
			requireSession(t, s, se)
			assert.Empty(t, revoked, "only a password change revokes sessions")

			if want.LoginCanon != u.LoginCanon {
				_, err := s.UserByLogin(ctx, u.LoginCanon)
				assert.ErrorIs(t, err, store.ErrNotFound, "the old login")
			}
			if want.EmailCanon != u.EmailCanon {
				_, err := s.UserByEmail(ctx, u.EmailCanon)
				assert.ErrorIs(t, err, store.ErrNotFound, "the old email")
			}
		})
	}
}

func testUpdateClear(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := createUser(t, s, numberedUser(1)), createUser(t, s, numberedUser(2))
	sa, sb := userSession("a", a.ID, at(0)), userSession("b", b.ID, at(0))
	createSessions(t, s, sa, sb)
	when := at(time.Hour)

	// Two users may both have no email: "" is stored as no email, not as a taken "".
	for _, x := range []struct {
		u  *store.User
		se store.Session
	}{{&a, sa}, {&b, sb}} {
		got, _, err := s.UpdateUser(ctx, store.UserChange{UserID: x.u.ID, SessionHash: x.se.TokenHash,
			Email: ptr(""), EmailCanon: ptr(""), UpdatedAt: when})
		require.NoError(t, err)
		x.u.Email, x.u.EmailCanon, x.u.UpdatedAt = "", "", when
		assert.Equal(t, normUser(*x.u), normUser(got))
		requireUserEverywhere(t, s, *x.u)
	}
	_, err := s.UserByEmail(ctx, "")
	assert.ErrorIs(t, err, store.ErrNotFound, "no email is not an email")
	_, err = s.UserByEmail(ctx, numberedUser(1).EmailCanon)
	assert.ErrorIs(t, err, store.ErrNotFound, "the cleared email")

	// The same for logins, on users that keep an email.
	c, d := createUser(t, s, numberedUser(3)), createUser(t, s, numberedUser(4))
	sc, sd := userSession("c", c.ID, at(0)), userSession("d", d.ID, at(0))
	createSessions(t, s, sc, sd)
	for _, x := range []struct {
		u  *store.User
		se store.Session
	}{{&c, sc}, {&d, sd}} {
		got, _, err := s.UpdateUser(ctx, store.UserChange{UserID: x.u.ID, SessionHash: x.se.TokenHash,
			Login: ptr(""), LoginCanon: ptr(""), UpdatedAt: when})
		require.NoError(t, err)
		x.u.Login, x.u.LoginCanon, x.u.UpdatedAt = "", "", when
		assert.Equal(t, normUser(*x.u), normUser(got))
		requireUserEverywhere(t, s, *x.u)
	}
	_, err = s.UserByLogin(ctx, "")
	assert.ErrorIs(t, err, store.ErrNotFound, "no login is not a login")
	_, err = s.UserByLogin(ctx, numberedUser(3).LoginCanon)
	assert.ErrorIs(t, err, store.ErrNotFound, "the cleared login")

	// A cleared login and email are free for others.
	e := numberedUser(5)
	e.LoginCanon, e.EmailCanon = numberedUser(3).LoginCanon, numberedUser(1).EmailCanon
	requireUserEverywhere(t, s, createUser(t, s, e))
}

// testUpdateIndexesFollow checks that every look-up follows an update: login, email, phone,
// external id, the tag index and its totals, and the full-name search.
func testUpdateIndexesFollow(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, other := createUser(t, s, numberedUser(1)), createUser(t, s, numberedUser(2))
	se := userSession("u", u.ID, at(0))
	createSessions(t, s, se)
	require.Equal(t, tagResult{IDs: []int64{u.ID, other.ID}, Total: 2}, queryTag(t, s, "shared"))
	require.Equal(t, []int64{u.ID, other.ID}, fullNameSearch(t, s, "smith"))

	got, _, err := s.UpdateUser(ctx, store.UserChange{
		UserID: u.ID, SessionHash: se.TokenHash, UpdatedAt: at(time.Hour),
		Login: ptr("Renamed"), LoginCanon: ptr("renamed"),
		Email: ptr("Renamed@Example.net"), EmailCanon: ptr("renamed@example.net"),
		FullName: ptr("Zoë Ångström"), Phone: ptr("+15550001111"), ExternalID: ptr("ext-renamed"),
		Tags: ptr([]string{"fresh", "other"}),
	})
	require.NoError(t, err)
	requireUserEverywhere(t, s, got)

	_, err = s.UserByLogin(ctx, u.LoginCanon)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx, u.EmailCanon)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByPhone(ctx, u.Phone)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByExternalID(ctx, u.ExternalID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	byPhone, err := s.UserByPhone(ctx, "+15550001111")
	if assert.NoError(t, err) {
		assert.Equal(t, u.ID, byPhone.ID)
	}
	byExt, err := s.UserByExternalID(ctx, "ext-renamed")
	if assert.NoError(t, err) {
		assert.Equal(t, u.ID, byExt.ID)
	}

	assert.Equal(t, tagResult{IDs: []int64{other.ID}, Total: 1}, queryTag(t, s, "shared"), "the old tag no longer finds the user")
	assert.Equal(t, tagResult{IDs: []int64{}, Total: 0}, queryTag(t, s, "own1"), "a tag nobody has")
	assert.Equal(t, tagResult{IDs: []int64{u.ID}, Total: 1}, queryTag(t, s, "fresh"))
	assert.Equal(t, tagResult{IDs: []int64{u.ID}, Total: 1}, queryTag(t, s, "other"))

	assert.Equal(t, []int64{other.ID}, fullNameSearch(t, s, "smith"), "the old name no longer finds the user")
	assert.Equal(t, []int64{u.ID}, fullNameSearch(t, s, "zoe"))
	assert.Equal(t, []int64{u.ID}, fullNameSearch(t, s, "angs"))
}

func testUpdateStaleSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, other := createUser(t, s, numberedUser(1)), createUser(t, s, numberedUser(2))
	current := userSession("current", u.ID, at(0))
	deleted := userSession("deleted", u.ID, at(0))
	others := userSession("others", other.ID, at(0))
	app := appSession("app", at(0))
	createSessions(t, s, current, deleted, others, app)
	require.NoError(t, s.DeleteSession(ctx, deleted.TokenHash))

	hashes := [][32]byte{current.TokenHash, others.TokenHash, app.TokenHash}
	tags := []string{"own1", "own2", "shared", "new"}
	before := takeSnapshot(t, s, []int64{u.ID, other.ID}, hashes, tags)

	for _, tc := range []struct {
		name string
		hash [32]byte
	}{
		{"Deleted", deleted.TokenHash},
		{"AnotherUsers", others.TokenHash},
		{"Application", app.TokenHash},
		{"Unknown", tokenHash("never")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, withPassword := range []bool{false, true} {
				c := store.UserChange{
					UserID: u.ID, SessionHash: tc.hash, UpdatedAt: at(time.Hour),
					Login: ptr("Hijacked"), LoginCanon: ptr("hijacked"), FullName: ptr("Hijacked"),
					Tags: ptr([]string{"new"}),
				}
				if withPassword {
					c.PasswordHash, c.OldPasswordHash = ptr("$new"), u.PasswordHash
				}
				_, revoked, err := s.UpdateUser(ctx, c)
				require.ErrorIs(t, err, store.ErrNotFound, "with password %v", withPassword)
				assert.Empty(t, revoked)
				require.Equal(t, before, takeSnapshot(t, s, []int64{u.ID, other.ID}, hashes, tags),
					"nothing changed (with password %v)", withPassword)
			}
		})
	}

	// A user acting through its own session for another user's id is refused too.
	_, _, err := s.UpdateUser(ctx, store.UserChange{UserID: other.ID, SessionHash: current.TokenHash,
		FullName: ptr("Hijacked"), UpdatedAt: at(time.Hour)})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, before, takeSnapshot(t, s, []int64{u.ID, other.ID}, hashes, tags))
}

func testUpdateWrongOldPassword(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, numberedUser(1))
	current, second := userSession("current", u.ID, at(0)), userSession("second", u.ID, at(0))
	createSessions(t, s, current, second)
	hashes := [][32]byte{current.TokenHash, second.TokenHash}
	tags := []string{"own1", "shared", "new"}
	before := takeSnapshot(t, s, []int64{u.ID}, hashes, tags)

	for _, old := range []string{"", "$argon2id$wrong", u.PasswordHash + "x"} {
		_, revoked, err := s.UpdateUser(ctx, store.UserChange{
			UserID: u.ID, SessionHash: current.TokenHash, UpdatedAt: at(time.Hour),
			PasswordHash: ptr("$argon2id$new"), OldPasswordHash: old,
			FullName: ptr("Changed"), Email: ptr("changed@example.com"), EmailCanon: ptr("changed@example.com"),
			Tags: ptr([]string{"new"}),
		})
		require.ErrorIs(t, err, store.ErrStale, "old hash %q", old)
		assert.Empty(t, revoked)
		require.Equal(t, before, takeSnapshot(t, s, []int64{u.ID}, hashes, tags), "nothing changed (old hash %q)", old)
	}
	_, err := s.UserByEmail(ctx, "changed@example.com")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testUpdatePasswordRevokes(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, other := createUser(t, s, numberedUser(1)), createUser(t, s, numberedUser(2))
	current := userSession("current", u.ID, at(0))
	mine := []store.Session{userSession("mine1", u.ID, at(0)), userSession("mine2", u.ID, at(time.Second)),
		userSession("mine3", u.ID, at(time.Minute))}
	kept := []store.Session{current, userSession("others", other.ID, at(0)), appSession("app", at(0))}
	createSessions(t, s, kept...)
	createSessions(t, s, mine...)

	const newHash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3"
	got, revoked, err := s.UpdateUser(ctx, store.UserChange{
		UserID: u.ID, SessionHash: current.TokenHash, UpdatedAt: at(time.Hour),
		PasswordHash: ptr(newHash), OldPasswordHash: u.PasswordHash,
	})
	require.NoError(t, err)
	u.PasswordHash, u.UpdatedAt = newHash, at(time.Hour)
	assert.Equal(t, normUser(u), normUser(got))
	requireUserEverywhere(t, s, u)

	var want [][32]byte
	for _, se := range mine {
		want = append(want, se.TokenHash)
		requireRevoked(t, s, se.TokenHash)
	}
	assert.ElementsMatch(t, want, revoked, "exactly the user's other sessions are reported")
	for _, se := range kept {
		requireSession(t, s, se)
	}

	// Changing again: nothing left to revoke, and the new hash is now the old one.
	_, revoked, err = s.UpdateUser(ctx, store.UserChange{
		UserID: u.ID, SessionHash: current.TokenHash, UpdatedAt: at(2 * time.Hour),
		PasswordHash: ptr("$argon2id$third"), OldPasswordHash: u.PasswordHash,
	})
	require.NoError(t, err)
	assert.Empty(t, revoked)
	for _, se := range kept {
		requireSession(t, s, se)
	}
	_, _, err = s.UpdateUser(ctx, store.UserChange{
		UserID: u.ID, SessionHash: current.TokenHash, UpdatedAt: at(3 * time.Hour),
		PasswordHash: ptr("$argon2id$fourth"), OldPasswordHash: newHash,
	})
	require.ErrorIs(t, err, store.ErrStale, "the replaced hash is stale")
}

// testUpdateFirstPassword: a user without a password (a provider user) gets one by naming ""
// as the old hash.
func testUpdateFirstPassword(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := numberedUser(1)
	u.PasswordHash = ""
	u = createUser(t, s, u)
	current, second := userSession("current", u.ID, at(0)), userSession("second", u.ID, at(0))
	createSessions(t, s, current, second)

	_, _, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: current.TokenHash,
		PasswordHash: ptr("$argon2id$first"), OldPasswordHash: "$argon2id$guess", UpdatedAt: at(time.Hour)})
	require.ErrorIs(t, err, store.ErrStale)
	requireSession(t, s, second)

	got, revoked, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: current.TokenHash,
		PasswordHash: ptr("$argon2id$first"), OldPasswordHash: "", UpdatedAt: at(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, "$argon2id$first", got.PasswordHash)
	assert.Equal(t, [][32]byte{second.TokenHash}, revoked)
	requireRevoked(t, s, second.TokenHash)
	requireSession(t, s, current)
}

func testUpdateConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, b := createUser(t, s, numberedUser(1)), createUser(t, s, numberedUser(2))
	sb, other := userSession("b", b.ID, at(0)), userSession("b2", b.ID, at(0))
	createSessions(t, s, sb, other)
	hashes := [][32]byte{sb.TokenHash, other.TokenHash}
	tags := []string{"own1", "own2", "shared", "new"}
	ids := []int64{a.ID, b.ID}
	before := takeSnapshot(t, s, ids, hashes, tags)

	for _, tc := range []struct {
		name, field string
		change      store.UserChange
	}{
		{"Login", "login", store.UserChange{Login: ptr("USER_1"), LoginCanon: ptr(a.LoginCanon)}},
		{"Email", "email", store.UserChange{Email: ptr("USER1@example.com"), EmailCanon: ptr(a.EmailCanon)}},
		{"FreeLoginTakenEmail", "email", store.UserChange{
			Login: ptr("Free"), LoginCanon: ptr("free"),
			Email: ptr("x"), EmailCanon: ptr(a.EmailCanon),
		}},
		{"TakenLoginFreeEmail", "login", store.UserChange{
			Login: ptr("x"), LoginCanon: ptr(a.LoginCanon),
			Email: ptr("free@example.com"), EmailCanon: ptr("free@example.com"),
		}},
		{"WithOtherFields", "login", store.UserChange{
			Login: ptr("x"), LoginCanon: ptr(a.LoginCanon),
			FullName: ptr("Changed"), Phone: ptr("5550000"), Tags: ptr([]string{"new"}),
			PasswordHash: ptr("$argon2id$new"), OldPasswordHash: b.PasswordHash,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.change
			c.UserID, c.SessionHash, c.UpdatedAt = b.ID, sb.TokenHash, at(time.Hour)
			_, revoked, err := s.UpdateUser(ctx, c)
			requireConflict(t, err, tc.field)
			assert.Empty(t, revoked)
			require.Equal(t, before, takeSnapshot(t, s, ids, hashes, tags), "all or nothing")
			_, err = s.UserByLogin(ctx, "free")
			assert.ErrorIs(t, err, store.ErrNotFound)
			_, err = s.UserByEmail(ctx, "free@example.com")
			assert.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}

func testUpdateOwnLogin(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, numberedUser(1))
	se := userSession("u", u.ID, at(0))
	createSessions(t, s, se)

	got, _, err := s.UpdateUser(ctx, store.UserChange{
		UserID: u.ID, SessionHash: se.TokenHash, UpdatedAt: at(time.Hour),
		Login: ptr("USER_1"), LoginCanon: ptr(u.LoginCanon),
		Email: ptr("USER1@EXAMPLE.COM"), EmailCanon: ptr(u.EmailCanon),
	})
	require.NoError(t, err, "a user's own login and email are not taken")
	u.Login, u.Email, u.UpdatedAt = "USER_1", "USER1@EXAMPLE.COM", at(time.Hour)
	assert.Equal(t, normUser(u), normUser(got))
	requireUserEverywhere(t, s, u)
}

func testDeleteUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := numberedUser(1)
	u.FullName = "Zoë Ångström"
	u = createUser(t, s, u)
	other := numberedUser(2)
	other.Phone, other.ExternalID = u.Phone, u.ExternalID // not unique: the older one is u
	other = createUser(t, s, other)
	current, second := userSession("current", u.ID, at(0)), userSession("second", u.ID, at(time.Second))
	kept := []store.Session{userSession("others", other.ID, at(0)), appSession("app", at(0))}
	createSessions(t, s, current, second)
	createSessions(t, s, kept...)

	require.Equal(t, tagResult{IDs: []int64{u.ID, other.ID}, Total: 2}, queryTag(t, s, "shared"))
	require.Equal(t, tagResult{IDs: []int64{u.ID}, Total: 1}, queryTag(t, s, "own1"))
	all, total, err := s.QueryUsers(ctx, store.Query{Limit: 10, TotalCap: 10})
	require.NoError(t, err)
	require.Equal(t, []int64{u.ID, other.ID}, userIDs(all))
	require.Equal(t, 2, total)

	revoked, err := s.DeleteUser(ctx, current.TokenHash, u.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, [][32]byte{current.TokenHash, second.TokenHash}, revoked)

	_, err = s.User(ctx, u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByLogin(ctx, u.LoginCanon)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx, u.EmailCanon)
	assert.ErrorIs(t, err, store.ErrNotFound)
	requireRevoked(t, s, current.TokenHash)
	requireRevoked(t, s, second.TokenHash)
	for _, se := range kept {
		requireSession(t, s, se)
	}
	requireUserEverywhere(t, s, other)
	got, err := s.UserByPhone(ctx, u.Phone)
	if assert.NoError(t, err) {
		assert.Equal(t, other.ID, got.ID, "the next oldest with the phone")
	}
	got, err = s.UserByExternalID(ctx, u.ExternalID)
	if assert.NoError(t, err) {
		assert.Equal(t, other.ID, got.ID, "the next oldest with the external id")
	}

	assert.Equal(t, tagResult{IDs: []int64{other.ID}, Total: 1}, queryTag(t, s, "shared"), "the tag total drops")
	assert.Equal(t, tagResult{IDs: []int64{}, Total: 0}, queryTag(t, s, "own1"))
	assert.Empty(t, fullNameSearch(t, s, "zoe"), "the full-name index forgets the user")
	all, total, err = s.QueryUsers(ctx, store.Query{Limit: 10, TotalCap: 10})
	require.NoError(t, err)
	assert.Equal(t, []int64{other.ID}, userIDs(all))
	assert.Equal(t, 1, total, "the user total drops")

	// Deleting again: the session is gone.
	_, err = s.DeleteUser(ctx, current.TokenHash, u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)

	// The login and email are free again; the id is not.
	again := createUser(t, s, numberedUser(1))
	assert.Greater(t, again.ID, other.ID)
	assert.Equal(t, tagResult{IDs: []int64{other.ID, again.ID}, Total: 2}, queryTag(t, s, "shared"))
}

func testDeleteUserWrongSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, other := createUser(t, s, numberedUser(1)), createUser(t, s, numberedUser(2))
	mine := userSession("mine", u.ID, at(0))
	others := userSession("others", other.ID, at(0))
	app := appSession("app", at(0))
	gone := userSession("gone", u.ID, at(0))
	createSessions(t, s, mine, others, app, gone)
	require.NoError(t, s.DeleteSession(ctx, gone.TokenHash))
	hashes := [][32]byte{mine.TokenHash, others.TokenHash, app.TokenHash}
	tags := []string{"own1", "own2", "shared"}
	before := takeSnapshot(t, s, []int64{u.ID, other.ID}, hashes, tags)

	for _, tc := range []struct {
		name string
		hash [32]byte
		id   int64
	}{
		{"AnotherUsersSession", others.TokenHash, u.ID},
		{"ApplicationSession", app.TokenHash, u.ID},
		{"DeletedSession", gone.TokenHash, u.ID},
		{"UnknownSession", tokenHash("never"), u.ID},
		{"OwnSessionOtherID", mine.TokenHash, other.ID},
		{"UnknownUser", mine.TokenHash, other.ID + 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			revoked, err := s.DeleteUser(ctx, tc.hash, tc.id)
			require.ErrorIs(t, err, store.ErrNotFound)
			assert.Empty(t, revoked)
			require.Equal(t, before, takeSnapshot(t, s, []int64{u.ID, other.ID}, hashes, tags), "nothing deleted")
		})
	}
}

func testDeleteUserIDsNeverReused(t *testing.T, s store.Store) {
	ctx := t.Context()
	var last int64
	for i := range 3 {
		u := createUser(t, s, numberedUser(i))
		se := userSession(fmt.Sprintf("s%d", i), u.ID, at(0))
		createSessions(t, s, se)
		_, err := s.DeleteUser(ctx, se.TokenHash, u.ID)
		require.NoError(t, err)
		last = u.ID
	}
	// Every user was deleted, the newest last: the next id is still higher.
	for i := range 3 {
		id, err := s.CreateUser(ctx, numberedUser(10+i))
		require.NoError(t, err)
		require.Greater(t, id, last)
		last = id
	}
}

// fullUser returns a user with every field set.
func fullUser() store.User {
	return store.User{
		ID:            999, // ignored
		Login:         "Alice_Smith",
		LoginCanon:    "alice_smith",
		Email:         "Alice.Smith@Example.COM",
		EmailCanon:    "alice.smith@example.com",
		PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		FullName:      "Alice Smith-Jones Ünal",
		Phone:         "+14155550100",
		Website:       "https://alice.example.com/",
		ExternalID:    "ext-42",
		Tags:          []string{"zeta", "alpha", "mid"},
		CustomData:    `{"colour":"blue","n":1}`,
		AvatarUID:     "3f1c2a9e8b7d4c6f",
		CreatedAt:     at(123 * time.Millisecond),
		UpdatedAt:     at(time.Hour + 456*time.Millisecond),
		LastRequestAt: at(2*time.Hour + 789*time.Millisecond),
	}
}

// requireUserEverywhere requires that want reads back the same by id, login and email.
func requireUserEverywhere(t *testing.T, s store.Store, want store.User) {
	t.Helper()
	ctx := t.Context()
	got, err := s.User(ctx, want.ID)
	require.NoError(t, err)
	require.Equal(t, normUser(want), normUser(got), "User")
	if want.LoginCanon != "" {
		got, err := s.UserByLogin(ctx, want.LoginCanon)
		require.NoError(t, err)
		require.Equal(t, normUser(want), normUser(got), "UserByLogin")
	}
	if want.EmailCanon != "" {
		got, err := s.UserByEmail(ctx, want.EmailCanon)
		require.NoError(t, err)
		require.Equal(t, normUser(want), normUser(got), "UserByEmail")
	}
}

func testCreateUserRoundTrip(t *testing.T, s store.Store) {
	u := createUser(t, s, fullUser())
	requireUserEverywhere(t, s, u)

	got, err := s.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"zeta", "alpha", "mid"}, got.Tags, "tags keep their order")

	// The look-ups take the canonical forms, not what was typed.
	_, err = s.UserByLogin(t.Context(), u.Login)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByEmail(t.Context(), u.Email)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testCreateUserIncreasingIDs(t *testing.T, s store.Store) {
	var last int64
	for i := range 10 {
		id, err := s.CreateUser(t.Context(), newUser(fmt.Sprintf("user%d", i)))
		require.NoError(t, err)
		require.Greater(t, id, last)
		last = id
	}
}

func testCreateUserEmailOnly(t *testing.T, s store.Store) {
	var users []store.User
	for i := range 3 {
		u := store.User{
			Email:      fmt.Sprintf("User%d@Example.com", i),
			EmailCanon: fmt.Sprintf("user%d@example.com", i),
			Tags:       []string{"email-only"},
			CreatedAt:  at(time.Duration(i) * time.Second),
			UpdatedAt:  at(time.Duration(i) * time.Second),
		}
		users = append(users, createUser(t, s, u)) // several users without a login do not collide
	}
	for _, u := range users {
		requireUserEverywhere(t, s, u)
	}
	_, err := s.UserByLogin(t.Context(), "")
	assert.ErrorIs(t, err, store.ErrNotFound, "no login is not a login")
}

func testCreateUserLoginOnly(t *testing.T, s store.Store) {
	var users []store.User
	for i := range 3 {
		users = append(users, createUser(t, s, newUser(fmt.Sprintf("login%d", i))))
	}
	for _, u := range users {
		requireUserEverywhere(t, s, u)
	}
	_, err := s.UserByEmail(t.Context(), "")
	assert.ErrorIs(t, err, store.ErrNotFound, "no email is not an email")
}

func testCreateUserEmptyFields(t *testing.T, s store.Store) {
	nilTags := createUser(t, s, store.User{Login: "a", LoginCanon: "a"}) // zero times too
	requireUserEverywhere(t, s, nilTags)

	emptyTags := newUser("b")
	emptyTags.Tags = []string{}
	emptyTags = createUser(t, s, emptyTags)
	got, err := s.User(t.Context(), emptyTags.ID)
	require.NoError(t, err)
	assert.Empty(t, got.Tags)
	assert.Equal(t, "", got.PasswordHash)
	assert.Equal(t, "", got.Email)
	assert.Equal(t, "", got.EmailCanon)
	assert.Equal(t, "", got.FullName)
	assert.Equal(t, "", got.CustomData)

	one := newUser("c")
	one.Tags = []string{"only"}
	requireUserEverywhere(t, s, createUser(t, s, one))
}

func testCreateUserLoginConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := fullUser()
	first = createUser(t, s, first)

	dup := newUser(first.LoginCanon)
	dup.Login = "ALICE_SMITH"
	dup.Email, dup.EmailCanon = "new@example.com", "new@example.com"
	dup.Tags = []string{"dup"}
	_, err := s.CreateUser(ctx, dup)
	requireConflict(t, err, "login")

	// Nothing of the failed user is stored.
	_, err = s.UserByEmail(ctx, "new@example.com")
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.User(ctx, first.ID+1)
	assert.ErrorIs(t, err, store.ErrNotFound)
	requireUserEverywhere(t, s, first)

	// Both unique columns taken: still a conflict.
	both := newUser(first.LoginCanon)
	both.EmailCanon = first.EmailCanon
	_, err = s.CreateUser(ctx, both)
	var ce *store.ConflictError
	require.ErrorAs(t, err, &ce)

	// The email of the failed user is free for the next one.
	dup.Login, dup.LoginCanon = "alice2", "alice2"
	requireUserEverywhere(t, s, createUser(t, s, dup))
}

func testCreateUserEmailConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	first := createUser(t, s, fullUser())

	dup := newUser("someone_else")
	dup.Email, dup.EmailCanon = "ALICE.SMITH@example.com", first.EmailCanon
	_, err := s.CreateUser(ctx, dup)
	requireConflict(t, err, "email")

	// An email-only user conflicts too.
	emailOnly := store.User{Email: "a@x", EmailCanon: first.EmailCanon}
	_, err = s.CreateUser(ctx, emailOnly)
	requireConflict(t, err, "email")

	_, err = s.UserByLogin(ctx, "someone_else")
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing of the failed user is stored")
	_, err = s.User(ctx, first.ID+1)
	assert.ErrorIs(t, err, store.ErrNotFound)
	requireUserEverywhere(t, s, first)
}

func testSetPasswordHash(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice")) // no password yet
	other := newUser("bob")
	other.PasswordHash = "bob-hash"
	other = createUser(t, s, other)

	require.ErrorIs(t, s.SetPasswordHash(ctx, u.ID, "not-the-hash", "h1"), store.ErrStale)
	require.NoError(t, s.SetPasswordHash(ctx, u.ID, "", "h1"))
	u.PasswordHash = "h1"
	requireUserEverywhere(t, s, u)
	require.ErrorIs(t, s.SetPasswordHash(ctx, u.ID, "", "h2"), store.ErrStale, "the old hash changed")
	require.NoError(t, s.SetPasswordHash(ctx, u.ID, "h1", "h2"))
	u.PasswordHash = "h2"
	requireUserEverywhere(t, s, u)
	requireUserEverywhere(t, s, other)
	require.ErrorIs(t, s.SetPasswordHash(ctx, 1<<40, "", "h3"), store.ErrNotFound)
}

// Package storetest is the conformance suite every [store.Store] must pass. A backend's tests
// call [Run] with a function that opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := mybackend.Open(...)
//			require.NoError(t, err)
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite goes through the interface only, with fixed times (a store never reads a clock) kept
// to the millisecond.
package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// t0 is the suite's fixed "now"; every time the suite stores is t0 plus an offset.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// tokenHash returns a distinct token hash per name.
func tokenHash(name string) [32]byte { return sha256.Sum256([]byte("token:" + name)) }

// appSession returns an application session named name, created and last used at created.
func appSession(name string, created time.Time) store.Session {
	h := tokenHash(name)
	return store.Session{
		TokenHash:     h,
		ID:            fmt.Sprintf("%x-%x-4%x-8%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]),
		AppID:         7,
		CreatedAt:     created,
		LastRequestAt: created,
	}
}

// newUser returns a user with login (canonical form lower case) and no email.
func newUser(login string) store.User {
	return store.User{
		Login:         login,
		LoginCanon:    login,
		CreatedAt:     at(0),
		UpdatedAt:     at(0),
		LastRequestAt: at(0),
	}
}

// normSession and normUser make records comparable whatever time zone or empty-slice choice a
// backend makes: times are compared as instants in UTC, and no tags is nil.
func normSession(s store.Session) store.Session {
	s.CreatedAt, s.SignedInAt, s.LastRequestAt = s.CreatedAt.UTC(), s.SignedInAt.UTC(), s.LastRequestAt.UTC()
	return s
}

func normUser(u store.User) store.User {
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC(), u.LastRequestAt.UTC()
	if len(u.Tags) == 0 {
		u.Tags = nil
	}
	return u
}

// requireSession requires that the stored session with want's token hash equals want.
func requireSession(t *testing.T, s store.Store, want store.Session) {
	t.Helper()
	got, err := s.Session(context.Background(), want.TokenHash)
	require.NoError(t, err)
	require.Equal(t, normSession(want), normSession(got))
}

// requireNoSession requires that no session has the token hash, and no tombstone either: it
// never existed or it expired.
func requireNoSession(t *testing.T, s store.Store, h [32]byte) {
	t.Helper()
	_, err := s.Session(context.Background(), h)
	require.ErrorIs(t, err, store.ErrNotFound)
}

// requireRevoked requires that the session of the token hash was revoked: Session answers
// ErrRevoked, not ErrNotFound (S33).
func requireRevoked(t *testing.T, s store.Store, h [32]byte) {
	t.Helper()
	_, err := s.Session(context.Background(), h)
	require.ErrorIs(t, err, store.ErrRevoked)
	require.NotErrorIs(t, err, store.ErrNotFound)
}

// createUser creates u and returns it with its new id.
func createUser(t *testing.T, s store.Store, u store.User) store.User {
	t.Helper()
	id, err := s.CreateUser(t.Context(), u)
	require.NoError(t, err)
	require.Positive(t, id)
	u.ID = id
	return u
}

// requireConflict requires that err is a *store.ConflictError naming field.
func requireConflict(t *testing.T, err error, field string) {
	t.Helper()
	var ce *store.ConflictError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, field, ce.Field)
}

// Run runs the conformance suite against stores made by open; each subtest calls open for a
// fresh, empty store (open registers its own cleanup with t.Cleanup). Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	// sub runs one parallel subtest with its own store.
	sub := func(t *testing.T, name string, f func(t *testing.T, s store.Store)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, open(t))
		})
	}

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
	t.Run("ExpireSession", func(t *testing.T) {
		sub(t, "Matching", testExpireMatching)
		sub(t, "Slid", testExpireSlid)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			removed, err := s.ExpireSession(t.Context(), tokenHash("nobody"), at(0))
			require.NoError(t, err)
			require.False(t, removed)
		})
	})
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
	runUsers(t, sub)
	runRevoked(t, sub)
	runQuery(t, sub)
	runFiles(t, sub)
	runReset(t, sub)
	t.Run("Concurrency", func(t *testing.T) {
		sub(t, "SameLogin", testConcurrentSameLogin)
		sub(t, "Sessions", testConcurrentSessions)
		sub(t, "CancelledMidway", testConcurrentCancel)
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

func testConcurrentSameLogin(t *testing.T, s store.Store) {
	const n = 50
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		ids   = make([]int64, n)
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			u := newUser("same")
			u.Email = fmt.Sprintf("u%d@example.com", i)
			u.EmailCanon = u.Email
			ids[i], errs[i] = s.CreateUser(context.Background(), u)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two callers created login %q", "same")
			winner = i
			continue
		}
		requireConflict(t, err, "login")
	}
	require.NotEqual(t, -1, winner, "nobody created the user")

	got, err := s.UserByLogin(t.Context(), "same")
	require.NoError(t, err)
	assert.Equal(t, ids[winner], got.ID)
	assert.Equal(t, fmt.Sprintf("u%d@example.com", winner), got.EmailCanon)
	for i := range n {
		if i == winner {
			continue
		}
		_, err := s.UserByEmail(t.Context(), fmt.Sprintf("u%d@example.com", i))
		assert.ErrorIs(t, err, store.ErrNotFound)
	}
}

func testConcurrentSessions(t *testing.T, s store.Store) {
	const goroutines, each = 64, 20
	u := createUser(t, s, newUser("alice"))
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, goroutines)
	)
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for i := range each {
				se := appSession(fmt.Sprintf("g%d-%d", g, i), at(time.Duration(i)*time.Millisecond))
				if i%2 == 1 {
					se.UserID, se.Provider, se.SignedInAt = u.ID, "password", se.CreatedAt
				}
				if err := s.CreateSession(context.Background(), se, ""); err != nil {
					errs[g] = err
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		require.NoError(t, err, "goroutine %d", g)
	}
	for g := range goroutines {
		for i := range each {
			se := appSession(fmt.Sprintf("g%d-%d", g, i), at(time.Duration(i)*time.Millisecond))
			if i%2 == 1 {
				se.UserID, se.Provider, se.SignedInAt = u.ID, "password", se.CreatedAt
			}
			requireSession(t, s, se)
		}
	}
}

// testConcurrentCancel cancels writers while they wait: each must have either failed and stored
// nothing or returned nil and stored its session.
func testConcurrentCancel(t *testing.T, s store.Store) {
	const n = 200
	var (
		wg   sync.WaitGroup
		errs = make([]error, n)
	)
	for i := range n {
		ctx, cancel := context.WithCancel(t.Context())
		wg.Go(func() {
			errs[i] = s.CreateSession(ctx, appSession(fmt.Sprintf("c%d", i), at(0)), "")
		})
		if i%2 == 0 {
			cancel()
		} else {
			defer cancel()
		}
	}
	wg.Wait()
	stored := 0
	for i, err := range errs {
		h := tokenHash(fmt.Sprintf("c%d", i))
		_, lerr := s.Session(t.Context(), h)
		if err != nil {
			assert.ErrorIs(t, lerr, store.ErrNotFound, "caller %d failed (%v) but its session is stored", i, err)
			continue
		}
		stored++
		assert.NoError(t, lerr, "caller %d succeeded but its session is missing", i)
	}
	assert.GreaterOrEqual(t, stored, n/2, "callers that were never cancelled succeed")
}

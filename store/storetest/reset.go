package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of the password-reset tokens: CreateResetToken, ResetToken,
// ConsumeResetToken, DeleteStaleResetTokens, and the tokens UpdateUser voids.

// runReset registers the subtests of the reset tokens.
func runReset(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("CreateResetToken", func(t *testing.T) {
		sub(t, "RoundTrip", testCreateResetToken)
		sub(t, "VoidsOthers", testCreateResetTokenVoidsOthers)
		sub(t, "UnknownUser", testCreateResetTokenUnknownUser)
	})
	t.Run("ResetToken", func(t *testing.T) {
		sub(t, "Expiry", testResetTokenExpiry)
		sub(t, "OldEmail", testResetTokenOldEmail)
		sub(t, "Unknown", func(t *testing.T, s store.Store) {
			requireNoResetToken(t, s, resetHash("never"), at(0))
		})
	})
	t.Run("ConsumeResetToken", func(t *testing.T) {
		sub(t, "Consumes", testConsumeResetToken)
		sub(t, "NoSessions", testConsumeResetTokenNoSessions)
		sub(t, "NotPending", testConsumeResetTokenNotPending)
		sub(t, "Concurrent", testConsumeResetTokenConcurrent)
	})
	t.Run("UpdateUserVoidsResetTokens", func(t *testing.T) {
		sub(t, "Email", func(t *testing.T, s store.Store) {
			testUpdateVoidsReset(t, s, func(c *store.UserChange, _ store.User) {
				c.Email, c.EmailCanon = ptr("New@Example.net"), ptr("new@example.net")
			})
		})
		sub(t, "PasswordHash", func(t *testing.T, s store.Store) {
			testUpdateVoidsReset(t, s, func(c *store.UserChange, u store.User) {
				c.PasswordHash, c.OldPasswordHash = ptr("$argon2id$changed"), u.PasswordHash
			})
		})
		sub(t, "OtherFieldsKeep", testUpdateKeepsReset)
		sub(t, "FailedUpdateKeeps", testFailedUpdateKeepsReset)
	})
	t.Run("DeleteStaleResetTokens", func(t *testing.T) {
		sub(t, "UsedAndExpired", testDeleteStaleResetTokens)
	})
}

// resetHash returns a distinct reset-token hash per name.
func resetHash(name string) [32]byte { return tokenHash("reset:" + name) }

// newResetToken returns a token named name for u's current email, created at created and
// valid for an hour.
func newResetToken(name string, u store.User, created time.Time) store.ResetToken {
	return store.ResetToken{
		TokenHash:  resetHash(name),
		UserID:     u.ID,
		EmailCanon: u.EmailCanon,
		CreatedAt:  created,
		ExpiresAt:  created.Add(time.Hour),
	}
}

func normReset(r store.ResetToken) store.ResetToken {
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return r
}

// createResetToken stores r.
func createResetToken(t *testing.T, s store.Store, r store.ResetToken) {
	t.Helper()
	require.NoError(t, s.CreateResetToken(t.Context(), r))
}

// requireResetToken requires that want is pending at now and reads back the same.
func requireResetToken(t *testing.T, s store.Store, want store.ResetToken, now time.Time) {
	t.Helper()
	got, err := s.ResetToken(t.Context(), want.TokenHash, now)
	require.NoError(t, err, "reset token pending at %v", now)
	require.Equal(t, normReset(want), normReset(got))
}

// requireNoResetToken requires that no token with the hash is pending at now.
func requireNoResetToken(t *testing.T, s store.Store, h [32]byte, now time.Time) {
	t.Helper()
	_, err := s.ResetToken(t.Context(), h, now)
	require.ErrorIs(t, err, store.ErrNotFound, "reset token not pending at %v", now)
}

// resetUser creates numberedUser(n) (it has an email) with a session acting for it.
func resetUser(t *testing.T, s store.Store, n int) (store.User, store.Session) {
	t.Helper()
	u := createUser(t, s, numberedUser(n))
	se := userSession(fmt.Sprintf("reset-user-%d", n), u.ID, at(0))
	createSessions(t, s, se)
	return u, se
}

func testCreateResetToken(t *testing.T, s store.Store) {
	u, _ := resetUser(t, s, 1)
	r := newResetToken("r", u, at(123*time.Millisecond))
	r.ExpiresAt = at(time.Hour + 456*time.Millisecond)
	createResetToken(t, s, r)
	requireResetToken(t, s, r, r.CreatedAt)
	requireResetToken(t, s, r, r.ExpiresAt.Add(-time.Millisecond))
	requireUser(t, s, u)
}

func testCreateResetTokenVoidsOthers(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, _ := resetUser(t, s, 1)
	other, _ := resetUser(t, s, 2)
	first, second := newResetToken("first", u, at(0)), newResetToken("second", u, at(time.Minute))
	theirs := newResetToken("theirs", other, at(0))
	createResetToken(t, s, first)
	createResetToken(t, s, theirs)
	requireResetToken(t, s, first, at(time.Minute))

	createResetToken(t, s, second)
	requireNoResetToken(t, s, first.TokenHash, at(time.Minute))
	requireResetToken(t, s, second, at(time.Minute))
	requireResetToken(t, s, theirs, at(time.Minute))

	_, _, err := s.ConsumeResetToken(ctx, first.TokenHash, at(time.Minute), "$argon2id$first")
	require.ErrorIs(t, err, store.ErrNotFound, "a voided token cannot be consumed")
	requireUser(t, s, u)
	requireResetToken(t, s, second, at(time.Minute))
}

func testCreateResetTokenUnknownUser(t *testing.T, s store.Store) {
	u, _ := resetUser(t, s, 1)
	r := newResetToken("orphan", u, at(0))
	r.UserID = u.ID + 1000
	require.ErrorIs(t, s.CreateResetToken(t.Context(), r), store.ErrNotFound)
	requireNoResetToken(t, s, r.TokenHash, at(0))

	// The same hash is free for a real user afterwards.
	r.UserID = u.ID
	createResetToken(t, s, r)
	requireResetToken(t, s, r, at(0))
}

func testResetTokenExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := resetUser(t, s, 1)
	r := newResetToken("r", u, at(0))
	createResetToken(t, s, r)

	requireResetToken(t, s, r, at(0))
	requireResetToken(t, s, r, r.ExpiresAt.Add(-time.Millisecond))
	requireNoResetToken(t, s, r.TokenHash, r.ExpiresAt)
	requireNoResetToken(t, s, r.TokenHash, r.ExpiresAt.Add(time.Millisecond))
	requireNoResetToken(t, s, r.TokenHash, r.ExpiresAt.Add(24*time.Hour))

	// Expired exactly at ExpiresAt: consuming then changes nothing.
	_, revoked, err := s.ConsumeResetToken(ctx, r.TokenHash, r.ExpiresAt, "$argon2id$late")
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Empty(t, revoked)
	requireUser(t, s, u)
	requireSession(t, s, se)

	// The store reads no clock: a millisecond earlier the token is still good.
	id, _, err := s.ConsumeResetToken(ctx, r.TokenHash, r.ExpiresAt.Add(-time.Millisecond), "$argon2id$in-time")
	require.NoError(t, err)
	assert.Equal(t, u.ID, id)
}

func testResetTokenOldEmail(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := resetUser(t, s, 1)

	t.Run("IssuedToAnotherAddress", func(t *testing.T) {
		r := newResetToken("elsewhere", u, at(0))
		r.EmailCanon = "someone.else@example.com"
		createResetToken(t, s, r)
		requireNoResetToken(t, s, r.TokenHash, at(0))
		_, _, err := s.ConsumeResetToken(ctx, r.TokenHash, at(0), "$argon2id$hijack")
		require.ErrorIs(t, err, store.ErrNotFound)
		requireUser(t, s, u)
		requireSession(t, s, se)
	})

	t.Run("EmailChanged", func(t *testing.T) {
		r := newResetToken("before-change", u, at(0))
		createResetToken(t, s, r)
		requireResetToken(t, s, r, at(0))

		oldEmail, oldCanon := u.Email, u.EmailCanon
		changed, _, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: se.TokenHash,
			Email: ptr("Moved@Example.org"), EmailCanon: ptr("moved@example.org"), UpdatedAt: at(time.Minute)})
		require.NoError(t, err)
		requireNoResetToken(t, s, r.TokenHash, at(time.Minute))
		_, _, err = s.ConsumeResetToken(ctx, r.TokenHash, at(time.Minute), "$argon2id$hijack")
		require.ErrorIs(t, err, store.ErrNotFound)
		requireUser(t, s, changed)

		// Changing the email back does not revive the token: it was voided.
		back, _, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: se.TokenHash,
			Email: ptr(oldEmail), EmailCanon: ptr(oldCanon), UpdatedAt: at(2 * time.Minute)})
		require.NoError(t, err)
		requireNoResetToken(t, s, r.TokenHash, at(2*time.Minute))
		_, _, err = s.ConsumeResetToken(ctx, r.TokenHash, at(2*time.Minute), "$argon2id$hijack")
		require.ErrorIs(t, err, store.ErrNotFound)
		requireUser(t, s, back)
		requireSession(t, s, se)
	})
}

func testConsumeResetToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, current := resetUser(t, s, 1)
	other, others := resetUser(t, s, 2)
	second := userSession("second", u.ID, at(time.Second))
	app := appSession("app", at(0))
	createSessions(t, s, second, app)
	r := newResetToken("r", u, at(0))
	theirs := newResetToken("theirs", other, at(0))
	createResetToken(t, s, r)
	createResetToken(t, s, theirs)

	const newHash = "$argon2id$v=19$m=19456,t=2,p=1$cmVzZXQ$cmVzZXRyZXNldA"
	now := at(30 * time.Minute)
	id, revoked, err := s.ConsumeResetToken(ctx, r.TokenHash, now, newHash)
	require.NoError(t, err)
	assert.Equal(t, u.ID, id)
	assert.ElementsMatch(t, [][32]byte{current.TokenHash, second.TokenHash}, revoked, "every session of the user")
	requireRevoked(t, s, current.TokenHash)
	requireRevoked(t, s, second.TokenHash)
	requireSession(t, s, others)
	requireSession(t, s, app)

	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, newHash, got.PasswordHash)
	want := u
	want.PasswordHash, want.UpdatedAt = newHash, got.UpdatedAt
	assert.Equal(t, normUser(want), normUser(got), "only the password (and the update time) change")
	requireUser(t, s, other)

	requireNoResetToken(t, s, r.TokenHash, now)
	requireResetToken(t, s, theirs, now)

	// A second consume, even with the same arguments, finds nothing.
	_, revoked, err = s.ConsumeResetToken(ctx, r.TokenHash, now, "$argon2id$second")
	require.ErrorIs(t, err, store.ErrNotFound)
	assert.Empty(t, revoked)
	got, err = s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, newHash, got.PasswordHash, "the second consume changed the password")
	requireResetToken(t, s, theirs, now)
	requireSession(t, s, others)
}

func testConsumeResetTokenNoSessions(t *testing.T, s store.Store) {
	u := createUser(t, s, numberedUser(1))
	r := newResetToken("r", u, at(0))
	createResetToken(t, s, r)
	id, revoked, err := s.ConsumeResetToken(t.Context(), r.TokenHash, at(time.Minute), "$argon2id$new")
	require.NoError(t, err)
	assert.Equal(t, u.ID, id)
	assert.Empty(t, revoked)
	got, err := s.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, "$argon2id$new", got.PasswordHash)
}

func testConsumeResetTokenNotPending(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := resetUser(t, s, 1)
	for _, h := range [][32]byte{resetHash("never"), {}} {
		_, revoked, err := s.ConsumeResetToken(ctx, h, at(0), "$argon2id$x")
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.Empty(t, revoked)
	}
	requireUser(t, s, u)
	requireSession(t, s, se)

	// Deleting the user takes its token with it.
	r := newResetToken("r", u, at(0))
	createResetToken(t, s, r)
	_, err := s.DeleteUser(ctx, se.TokenHash, u.ID)
	require.NoError(t, err)
	requireNoResetToken(t, s, r.TokenHash, at(0))
	_, _, err = s.ConsumeResetToken(ctx, r.TokenHash, at(0), "$argon2id$x")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testConsumeResetTokenConcurrent(t *testing.T, s store.Store) {
	const n = 30
	u, se := resetUser(t, s, 1)
	r := newResetToken("r", u, at(0))
	createResetToken(t, s, r)
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		ids      = make([]int64, n)
		revokeds = make([][][32]byte, n)
		errs     = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			ids[i], revokeds[i], errs[i] = s.ConsumeResetToken(context.Background(), r.TokenHash, at(time.Minute), fmt.Sprintf("$argon2id$%d", i))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "callers %d and %d both consumed the token", winner, i)
			winner = i
			continue
		}
		require.ErrorIs(t, err, store.ErrNotFound, "caller %d", i)
		assert.Empty(t, revokeds[i], "caller %d", i)
	}
	require.NotEqual(t, -1, winner, "nobody consumed the token")
	assert.Equal(t, u.ID, ids[winner])
	assert.Equal(t, [][32]byte{se.TokenHash}, revokeds[winner])
	got, err := s.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("$argon2id$%d", winner), got.PasswordHash, "the winner's password")
	requireNoResetToken(t, s, r.TokenHash, at(time.Minute))
}

// testUpdateVoidsReset checks that the update that change makes voids the user's pending
// token, and only that user's.
func testUpdateVoidsReset(t *testing.T, s store.Store, change func(c *store.UserChange, u store.User)) {
	ctx := t.Context()
	u, se := resetUser(t, s, 1)
	other, _ := resetUser(t, s, 2)
	r, theirs := newResetToken("r", u, at(0)), newResetToken("theirs", other, at(0))
	createResetToken(t, s, r)
	createResetToken(t, s, theirs)

	c := store.UserChange{UserID: u.ID, SessionHash: se.TokenHash, UpdatedAt: at(time.Minute)}
	change(&c, u)
	got, _, err := s.UpdateUser(ctx, c)
	require.NoError(t, err)
	requireNoResetToken(t, s, r.TokenHash, at(time.Minute))
	_, _, err = s.ConsumeResetToken(ctx, r.TokenHash, at(time.Minute), "$argon2id$hijack")
	require.ErrorIs(t, err, store.ErrNotFound)
	requireUser(t, s, got)
	requireResetToken(t, s, theirs, at(time.Minute))

	// A token issued after the change is good.
	fresh := newResetToken("fresh", got, at(2*time.Minute))
	createResetToken(t, s, fresh)
	requireResetToken(t, s, fresh, at(2*time.Minute))
}

func testUpdateKeepsReset(t *testing.T, s store.Store) {
	u, se := resetUser(t, s, 1)
	r := newResetToken("r", u, at(0))
	createResetToken(t, s, r)
	_, _, err := s.UpdateUser(t.Context(), store.UserChange{UserID: u.ID, SessionHash: se.TokenHash,
		FullName: ptr("Renamed"), Phone: ptr("+15550001111"), Tags: ptr([]string{"x"}), UpdatedAt: at(time.Minute)})
	require.NoError(t, err)
	requireResetToken(t, s, r, at(time.Minute))
}

// testFailedUpdateKeepsReset: an email or password change that fails voids nothing.
func testFailedUpdateKeepsReset(t *testing.T, s store.Store) {
	ctx := t.Context()
	u, se := resetUser(t, s, 1)
	other, _ := resetUser(t, s, 2)
	r := newResetToken("r", u, at(0))
	createResetToken(t, s, r)

	_, _, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: se.TokenHash, UpdatedAt: at(time.Minute),
		PasswordHash: ptr("$argon2id$new"), OldPasswordHash: "$argon2id$wrong",
		Email: ptr("new@example.com"), EmailCanon: ptr("new@example.com")})
	require.ErrorIs(t, err, store.ErrStale)
	requireResetToken(t, s, r, at(time.Minute))

	_, _, err = s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: se.TokenHash, UpdatedAt: at(time.Minute),
		Email: ptr("taken"), EmailCanon: ptr(other.EmailCanon)})
	requireConflict(t, err, "email")
	requireResetToken(t, s, r, at(time.Minute))

	_, _, err = s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: tokenHash("never"), UpdatedAt: at(time.Minute),
		Email: ptr("new@example.com"), EmailCanon: ptr("new@example.com")})
	require.ErrorIs(t, err, store.ErrNotFound)
	requireResetToken(t, s, r, at(time.Minute))
	requireUser(t, s, u)
}

func testDeleteStaleResetTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	var users []store.User
	for i := range 4 {
		u, _ := resetUser(t, s, i+1)
		users = append(users, u)
	}
	pending := newResetToken("pending", users[0], at(0))
	pending.ExpiresAt = now.Add(time.Millisecond)
	expired := newResetToken("expired", users[1], at(0))
	expired.ExpiresAt = now.Add(-30 * time.Minute)
	edge := newResetToken("edge", users[2], at(0)) // expires exactly at now
	edge.ExpiresAt = now
	used := newResetToken("used", users[3], at(0))
	used.ExpiresAt = now.Add(time.Hour)
	for _, r := range []store.ResetToken{pending, expired, edge, used} {
		createResetToken(t, s, r)
	}

	n, err := s.DeleteStaleResetTokens(ctx, at(0))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is stale yet")
	for _, r := range []store.ResetToken{pending, expired, edge, used} {
		requireResetToken(t, s, r, at(0))
	}

	_, _, err = s.ConsumeResetToken(ctx, used.TokenHash, at(time.Minute), "$argon2id$used")
	require.NoError(t, err)

	n, err = s.DeleteStaleResetTokens(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the used token, the expired one and the one expiring now")
	requireResetToken(t, s, pending, now)

	n, err = s.DeleteStaleResetTokens(ctx, now)
	require.NoError(t, err)
	assert.Zero(t, n, "deleting again")
	requireResetToken(t, s, pending, now)
}

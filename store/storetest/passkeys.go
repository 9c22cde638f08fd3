package storetest

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// runPasskeys tests the optional store.Passkeys ability (S42); a store without it skips these.
func runPasskeys(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	pk := func(f func(t *testing.T, s store.Store, p store.Passkeys)) func(t *testing.T, s store.Store) {
		return func(t *testing.T, s store.Store) {
			p, ok := s.(store.Passkeys)
			if !ok {
				t.Skip("the store has no store.Passkeys ability")
			}
			f(t, s, p)
		}
	}
	t.Run("Passkeys", func(t *testing.T) {
		sub(t, "ChallengeSingleUse", pk(testPasskeyChallengeSingleUse))
		sub(t, "ChallengeExpires", pk(testPasskeyChallengeExpires))
		sub(t, "ChallengeTakenOnce", pk(testPasskeyChallengeTakenOnce))
		sub(t, "RoundTripAndIdentity", pk(testPasskeyRoundTrip))
		sub(t, "CredentialIDUnique", pk(testPasskeyUnique))
		sub(t, "UseComparesCount", pk(testPasskeyUse))
		sub(t, "DeletedWithUser", pk(testPasskeyDeletedWithUser))
	})
}

func challenge(id string, userID int64, exp time.Time) store.PasskeyChallenge {
	return store.PasskeyChallenge{ID: id, UserID: userID, Kind: "login", Data: []byte(`{"c":"` + id + `"}`), ExpiresAt: exp}
}

func testPasskeyChallengeSingleUse(t *testing.T, _ store.Store, p store.Passkeys) {
	ctx := t.Context()
	c := challenge("c1", 5, at(5*time.Minute))
	require.NoError(t, p.CreatePasskeyChallenge(ctx, c, at(0)))
	var ce *store.ConflictError
	require.ErrorAs(t, p.CreatePasskeyChallenge(ctx, c, at(0)), &ce)
	assert.Equal(t, "challenge", ce.Field)
	got, err := p.TakePasskeyChallenge(ctx, "c1", at(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, c.ID, got.ID)
	assert.Equal(t, c.UserID, got.UserID)
	assert.Equal(t, c.Kind, got.Kind)
	assert.Equal(t, c.Data, got.Data)
	assert.True(t, c.ExpiresAt.Equal(got.ExpiresAt))
	_, err = p.TakePasskeyChallenge(ctx, "c1", at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "single use")
	_, err = p.TakePasskeyChallenge(ctx, "nope", at(0))
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testPasskeyChallengeExpires(t *testing.T, _ store.Store, p store.Passkeys) {
	ctx := t.Context()
	require.NoError(t, p.CreatePasskeyChallenge(ctx, challenge("c1", 0, at(5*time.Minute)), at(0)))
	require.NoError(t, p.CreatePasskeyChallenge(ctx, challenge("c2", 0, at(5*time.Minute)), at(0)))
	_, err := p.TakePasskeyChallenge(ctx, "c1", at(5*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired at ExpiresAt")
	// Creating a challenge drops the expired ones.
	require.NoError(t, p.CreatePasskeyChallenge(ctx, challenge("c3", 0, at(15*time.Minute)), at(10*time.Minute)))
	_, err = p.TakePasskeyChallenge(ctx, "c2", at(0))
	require.ErrorIs(t, err, store.ErrNotFound, "dropped when expired")
	_, err = p.TakePasskeyChallenge(ctx, "c3", at(11*time.Minute))
	require.NoError(t, err)
}

func testPasskeyChallengeTakenOnce(t *testing.T, _ store.Store, p store.Passkeys) {
	ctx := t.Context()
	require.NoError(t, p.CreatePasskeyChallenge(ctx, challenge("c1", 0, at(5*time.Minute)), at(0)))
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Go(func() {
			if _, err := p.TakePasskeyChallenge(ctx, "c1", at(0)); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else {
				assert.ErrorIs(t, err, store.ErrNotFound)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, won)
}

func passkey(id string, userID int64, d time.Duration) store.Passkey {
	return store.Passkey{ID: []byte(id), UserID: userID, Name: "key " + id, Credential: []byte(`{"k":"` + id + `"}`),
		SignCount: 3, CreatedAt: at(d), LastUsedAt: at(d)}
}

func normPasskey(p store.Passkey) store.Passkey {
	p.CreatedAt, p.LastUsedAt = p.CreatedAt.UTC(), p.LastUsedAt.UTC()
	return p
}

func testPasskeyRoundTrip(t *testing.T, s store.Store, p store.Passkeys) {
	ctx := t.Context()
	u := createUser(t, s, newUser("pk01"))
	sub := strconv.FormatInt(u.ID, 10)
	_, err := s.UserByIdentity(ctx, store.PasskeyProvider, sub)
	require.ErrorIs(t, err, store.ErrNotFound)

	a, b := passkey("a", u.ID, time.Second), passkey("b", u.ID, 2*time.Second)
	require.NoError(t, p.CreatePasskey(ctx, a))
	require.NoError(t, p.CreatePasskey(ctx, b))
	got, err := p.Passkey(ctx, []byte("a"))
	require.NoError(t, err)
	assert.Equal(t, normPasskey(a), normPasskey(got))
	list, err := p.UserPasskeys(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, []byte("a"), list[0].ID)
	none, err := p.UserPasskeys(ctx, u.ID+1000)
	require.NoError(t, err)
	assert.Empty(t, none)

	iu, err := s.UserByIdentity(ctx, store.PasskeyProvider, sub)
	require.NoError(t, err, "a user with a passkey has the passkey identity")
	assert.Equal(t, u.ID, iu.ID)

	require.NoError(t, p.RenamePasskey(ctx, u.ID, []byte("a"), "laptop"))
	got, _ = p.Passkey(ctx, []byte("a"))
	assert.Equal(t, "laptop", got.Name)
	require.ErrorIs(t, p.RenamePasskey(ctx, u.ID+1, []byte("a"), "x"), store.ErrNotFound, "another user's")
	require.ErrorIs(t, p.DeletePasskey(ctx, u.ID+1, []byte("a")), store.ErrNotFound, "another user's")

	require.NoError(t, p.DeletePasskey(ctx, u.ID, []byte("a")))
	_, err = p.Passkey(ctx, []byte("a"))
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.UserByIdentity(ctx, store.PasskeyProvider, sub)
	require.NoError(t, err, "one passkey left")
	require.NoError(t, p.DeletePasskey(ctx, u.ID, []byte("b")))
	_, err = s.UserByIdentity(ctx, store.PasskeyProvider, sub)
	require.ErrorIs(t, err, store.ErrNotFound, "the identity goes with the last passkey")
	require.ErrorIs(t, p.DeletePasskey(ctx, u.ID, []byte("b")), store.ErrNotFound)

	require.ErrorIs(t, p.CreatePasskey(ctx, passkey("c", 1<<40, 0)), store.ErrNotFound, "unknown user")
}

func testPasskeyUnique(t *testing.T, s store.Store, p store.Passkeys) {
	ctx := t.Context()
	u := createUser(t, s, newUser("pk01"))
	v := createUser(t, s, newUser("pk02"))
	require.NoError(t, p.CreatePasskey(ctx, passkey("a", u.ID, 0)))
	var ce *store.ConflictError
	require.ErrorAs(t, p.CreatePasskey(ctx, passkey("a", v.ID, 0)), &ce, "a credential id belongs to one user")
	assert.Equal(t, "passkey", ce.Field)
	got, err := p.Passkey(ctx, []byte("a"))
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.UserID)
}

func testPasskeyUse(t *testing.T, s store.Store, p store.Passkeys) {
	ctx := t.Context()
	u := createUser(t, s, newUser("pk01"))
	require.NoError(t, p.CreatePasskey(ctx, passkey("a", u.ID, 0)))
	require.NoError(t, p.UsePasskey(ctx, []byte("a"), 3, 4, []byte(`{"n":4}`), at(time.Hour)))
	got, err := p.Passkey(ctx, []byte("a"))
	require.NoError(t, err)
	assert.Equal(t, uint32(4), got.SignCount)
	assert.Equal(t, []byte(`{"n":4}`), got.Credential)
	assert.True(t, got.LastUsedAt.Equal(at(time.Hour)))
	require.ErrorIs(t, p.UsePasskey(ctx, []byte("a"), 3, 5, nil, at(time.Hour)), store.ErrStale, "the count moved")
	got, _ = p.Passkey(ctx, []byte("a"))
	assert.Equal(t, uint32(4), got.SignCount)
	require.ErrorIs(t, p.UsePasskey(ctx, []byte("zz"), 0, 1, nil, at(0)), store.ErrNotFound)
}

func testPasskeyDeletedWithUser(t *testing.T, s store.Store, p store.Passkeys) {
	ctx := t.Context()
	u := createUser(t, s, newUser("pk01"))
	se := userSession("pk01", u.ID, at(0))
	createSessions(t, s, se)
	require.NoError(t, p.CreatePasskey(ctx, passkey("a", u.ID, 0)))
	_, err := s.DeleteUser(ctx, se.TokenHash, u.ID)
	require.NoError(t, err)
	_, err = p.Passkey(ctx, []byte("a"))
	require.ErrorIs(t, err, store.ErrNotFound)
}

// runLinker tests the optional store.Linker ability (S43); a store without it skips these.
func runLinker(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("Linker", func(t *testing.T) {
		sub(t, "LinkUnlinkList", func(t *testing.T, s store.Store) {
			l, ok := s.(store.Linker)
			if !ok {
				t.Skip("the store has no store.Linker ability")
			}
			ctx := t.Context()
			u := createUser(t, s, newUser("ln01"))
			v := createUser(t, s, newUser("ln02"))
			require.NoError(t, l.LinkIdentity(ctx, u.ID, "google", "g-1", at(time.Second)))
			require.NoError(t, l.LinkIdentity(ctx, u.ID, "apple", "a-1", at(time.Second)))
			got, err := s.UserByIdentity(ctx, "google", "g-1")
			require.NoError(t, err)
			assert.Equal(t, u.ID, got.ID)
			var ce *store.ConflictError
			require.ErrorAs(t, l.LinkIdentity(ctx, v.ID, "google", "g-1", at(0)), &ce, "an identity belongs to one user")
			assert.Equal(t, "identity", ce.Field)
			require.ErrorIs(t, l.LinkIdentity(ctx, 1<<40, "google", "g-2", at(0)), store.ErrNotFound)
			ids, err := l.UserIdentities(ctx, u.ID)
			require.NoError(t, err)
			require.Len(t, ids, 2)
			assert.Equal(t, "apple", ids[0].Provider)
			assert.Equal(t, "g-1", ids[1].Subject)
			assert.True(t, ids[1].CreatedAt.Equal(at(time.Second)))
			none, err := l.UserIdentities(ctx, v.ID)
			require.NoError(t, err)
			assert.Empty(t, none)
			require.NoError(t, l.UnlinkIdentity(ctx, u.ID, "google"))
			require.ErrorIs(t, l.UnlinkIdentity(ctx, u.ID, "google"), store.ErrNotFound)
			_, err = s.UserByIdentity(ctx, "google", "g-1")
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	})
}

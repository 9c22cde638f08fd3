package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// runSecondFactors tests the optional store.SecondFactors ability; a store without it skips
// these.
func runSecondFactors(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	sf := func(f func(t *testing.T, s store.Store, f store.SecondFactors)) func(t *testing.T, s store.Store) {
		return func(t *testing.T, s store.Store) {
			x, ok := s.(store.SecondFactors)
			if !ok {
				t.Skip("the store has no store.SecondFactors ability")
			}
			f(t, s, x)
		}
	}
	t.Run("SecondFactors", func(t *testing.T) {
		sub(t, "EnrolConfirmDelete", sf(testTOTPLifecycle))
		sub(t, "StepsOnceEach", sf(testTOTPSteps))
		sub(t, "RecoveryCodesSingleUse", sf(testRecoveryCodes))
		sub(t, "ChallengesSingleUse", sf(testChallenges))
		sub(t, "DeleteUserDeletesAll", sf(testSecondFactorsUserDeleted))
	})
}

func codeHashes(names ...string) [][32]byte {
	var hs [][32]byte
	for _, n := range names {
		hs = append(hs, tokenHash("recovery:"+n))
	}
	return hs
}

// confirmedTOTP enrols u and confirms it at step 100 with recovery codes a, b and c.
func confirmedTOTP(t *testing.T, f store.SecondFactors, u store.User) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, f.PutTOTP(ctx, store.TOTP{UserID: u.ID, Secret: []byte("sealed"), CreatedAt: at(0)}))
	require.NoError(t, f.ConfirmTOTP(ctx, u.ID, 100, codeHashes("a", "b", "c")))
}

func testTOTPLifecycle(t *testing.T, s store.Store, f store.SecondFactors) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	_, err := f.TOTP(ctx, u.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, f.PutTOTP(ctx, store.TOTP{UserID: u.ID + 1000, Secret: []byte("x"), CreatedAt: at(0)}), store.ErrNotFound)
	require.ErrorIs(t, f.ConfirmTOTP(ctx, u.ID, 1, nil), store.ErrNotFound, "nothing pending")

	require.NoError(t, f.PutTOTP(ctx, store.TOTP{UserID: u.ID, Secret: []byte("first"), CreatedAt: at(0)}))
	require.NoError(t, f.PutTOTP(ctx, store.TOTP{UserID: u.ID, Secret: []byte("second"), CreatedAt: at(time.Second)}))
	got, err := f.TOTP(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, store.TOTP{UserID: u.ID, Secret: []byte("second"), CreatedAt: at(time.Second).UTC()}, normTOTP(got))
	require.ErrorIs(t, f.UseTOTPStep(ctx, u.ID, 5), store.ErrNotFound, "a pending enrolment accepts no code")
	require.ErrorIs(t, f.SetRecoveryCodes(ctx, u.ID, codeHashes("x")), store.ErrNotFound)

	require.NoError(t, f.ConfirmTOTP(ctx, u.ID, 100, codeHashes("a", "b")))
	got, err = f.TOTP(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.Confirmed)
	assert.Equal(t, int64(100), got.LastStep)
	require.ErrorIs(t, f.ConfirmTOTP(ctx, u.ID, 101, nil), store.ErrNotFound, "confirmed once")
	require.ErrorIs(t, f.PutTOTP(ctx, store.TOTP{UserID: u.ID, Secret: []byte("third"), CreatedAt: at(0)}), store.ErrStale,
		"a confirmed enrolment is not replaced")
	n, err := f.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	require.NoError(t, f.DeleteTOTP(ctx, u.ID))
	_, err = f.TOTP(ctx, u.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err = f.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err)
	assert.Zero(t, n, "disabling deletes the recovery codes")
	require.ErrorIs(t, f.DeleteTOTP(ctx, u.ID), store.ErrNotFound)
}

func normTOTP(t store.TOTP) store.TOTP {
	t.CreatedAt = t.CreatedAt.UTC()
	return t
}

func testTOTPSteps(t *testing.T, s store.Store, f store.SecondFactors) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	confirmedTOTP(t, f, u)
	require.ErrorIs(t, f.UseTOTPStep(ctx, u.ID, 100), store.ErrStale, "the confirming step is used")
	require.ErrorIs(t, f.UseTOTPStep(ctx, u.ID, 99), store.ErrStale)
	require.NoError(t, f.UseTOTPStep(ctx, u.ID, 101))
	require.ErrorIs(t, f.UseTOTPStep(ctx, u.ID, 101), store.ErrStale, "no replay")
	require.ErrorIs(t, f.UseTOTPStep(ctx, u.ID+1000, 200), store.ErrNotFound)

	// Of concurrent callers with one step, exactly one succeeds.
	var wg sync.WaitGroup
	var wins atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.UseTOTPStep(ctx, u.ID, 102) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
}

func testRecoveryCodes(t *testing.T, s store.Store, f store.SecondFactors) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	other := createUser(t, s, newUser("bob"))
	confirmedTOTP(t, f, u)
	a := codeHashes("a")[0]
	require.ErrorIs(t, f.UseRecoveryCode(ctx, other.ID, a), store.ErrNotFound, "codes are per user")
	require.NoError(t, f.UseRecoveryCode(ctx, u.ID, a))
	require.ErrorIs(t, f.UseRecoveryCode(ctx, u.ID, a), store.ErrNotFound, "single use")
	require.NoError(t, f.SetRecoveryCodes(ctx, u.ID, codeHashes("x", "y")))
	require.ErrorIs(t, f.UseRecoveryCode(ctx, u.ID, codeHashes("b")[0]), store.ErrNotFound, "regenerating voids the old codes")
	n, err := f.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	var wg sync.WaitGroup
	var wins atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.UseRecoveryCode(ctx, u.ID, codeHashes("x")[0]) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
}

func testChallenges(t *testing.T, s store.Store, f store.SecondFactors) {
	ctx := t.Context()
	u := createUser(t, s, newUser("alice"))
	c := store.Challenge{Hash: tokenHash("challenge:1"), UserID: u.ID, Provider: "password", VerifiedHash: "h", ExpiresAt: at(5 * time.Minute)}
	require.NoError(t, f.CreateChallenge(ctx, c))
	require.ErrorIs(t, f.CreateChallenge(ctx, store.Challenge{Hash: tokenHash("challenge:x"), UserID: u.ID + 1000, ExpiresAt: at(time.Minute)}), store.ErrNotFound)
	got, err := f.Challenge(ctx, c.Hash, at(time.Minute))
	require.NoError(t, err)
	got.ExpiresAt = got.ExpiresAt.UTC()
	c.ExpiresAt = c.ExpiresAt.UTC()
	assert.Equal(t, c, got)
	_, err = f.Challenge(ctx, c.Hash, at(5*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")
	_, err = f.ConsumeChallenge(ctx, c.Hash, at(5*time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")

	var wg sync.WaitGroup
	var wins atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := f.ConsumeChallenge(ctx, c.Hash, at(time.Minute)); err == nil && got.UserID == u.ID {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load(), "single use")

	c2 := store.Challenge{Hash: tokenHash("challenge:2"), UserID: u.ID, Provider: "password", ExpiresAt: at(time.Minute)}
	require.NoError(t, f.CreateChallenge(ctx, c2))
	n, err := f.DeleteExpiredChallenges(ctx, at(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func testSecondFactorsUserDeleted(t *testing.T, s store.Store, f store.SecondFactors) {
	ctx := t.Context()
	u := newUser("alice")
	id, err := s.CreateUser(ctx, u)
	require.NoError(t, err)
	u.ID = id
	confirmedTOTP(t, f, u)
	c := store.Challenge{Hash: tokenHash("challenge:1"), UserID: u.ID, Provider: "password", ExpiresAt: at(time.Minute)}
	require.NoError(t, f.CreateChallenge(ctx, c))
	se := userSession("s1", id, at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))
	_, err = s.DeleteUser(ctx, se.TokenHash, id)
	require.NoError(t, err)
	_, err = f.TOTP(ctx, id)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = f.Challenge(ctx, c.Hash, at(0))
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err := f.RecoveryCodesLeft(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, n)
}

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

// runEmailCodes tests the optional store.EmailCodes ability and the verified email of users;
// a store without the ability skips these.
func runEmailCodes(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	ec := func(f func(t *testing.T, s store.Store, c store.EmailCodes)) func(t *testing.T, s store.Store) {
		return func(t *testing.T, s store.Store) {
			x, ok := s.(store.EmailCodes)
			if !ok {
				t.Skip("the store has no store.EmailCodes ability")
			}
			f(t, s, x)
		}
	}
	t.Run("EmailCodes", func(t *testing.T) {
		sub(t, "ConsumeVerifiesOnce", ec(testEmailCodeConsume))
		sub(t, "EmailChangeUnverifies", ec(testEmailChangeUnverifies))
		sub(t, "CreatedVerified", ec(testCreatedVerified))
	})
}

// emailUser is newUser with an email.
func emailUser(login string) store.User {
	u := newUser(login)
	u.Email, u.EmailCanon = login+"@Example.com", login+"@example.com"
	return u
}

func emailCode(name string, u store.User, purpose string, created time.Time) store.EmailCode {
	return store.EmailCode{Hash: tokenHash("email:" + name), UserID: u.ID, EmailCanon: u.EmailCanon, Purpose: purpose,
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
}

func testEmailCodeConsume(t *testing.T, s store.Store, ec store.EmailCodes) {
	ctx := t.Context()
	u := createUser(t, s, emailUser("alice"))
	require.NotEmpty(t, u.EmailCanon)
	assert.True(t, u.EmailVerifiedAt.IsZero())
	gone := u
	gone.ID += 1000
	require.ErrorIs(t, ec.CreateEmailCode(ctx, emailCode("x", gone, "verify", at(0))), store.ErrNotFound)

	first := emailCode("1", u, "verify", at(0))
	require.NoError(t, ec.CreateEmailCode(ctx, first))
	second := emailCode("2", u, "verify", at(time.Second))
	require.NoError(t, ec.CreateEmailCode(ctx, second))
	other := emailCode("3", u, "signin", at(time.Second))
	require.NoError(t, ec.CreateEmailCode(ctx, other))
	_, err := ec.ConsumeEmailCode(ctx, first.Hash, "verify", at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "a newer code of the purpose voids it")
	_, err = ec.ConsumeEmailCode(ctx, second.Hash, "signin", at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "wrong purpose")
	_, err = ec.ConsumeEmailCode(ctx, second.Hash, "verify", at(10*time.Minute+time.Second))
	require.ErrorIs(t, err, store.ErrNotFound, "expired")

	var wg sync.WaitGroup
	var wins atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := ec.ConsumeEmailCode(ctx, second.Hash, "verify", at(time.Minute)); err == nil && c.UserID == u.ID {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load(), "single use")
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerifiedAt.Equal(at(time.Minute)), "verified at %v", got.EmailVerifiedAt)

	// A later code keeps the first verification time.
	_, err = ec.ConsumeEmailCode(ctx, other.Hash, "signin", at(2*time.Minute))
	require.NoError(t, err)
	got, err = s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerifiedAt.Equal(at(time.Minute)))

	n, err := ec.DeleteExpiredEmailCodes(ctx, at(time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func testEmailChangeUnverifies(t *testing.T, s store.Store, ec store.EmailCodes) {
	ctx := t.Context()
	u := createUser(t, s, emailUser("alice"))
	require.NoError(t, ec.MarkEmailVerified(ctx, u.ID, u.EmailCanon, at(0)))
	require.ErrorIs(t, ec.MarkEmailVerified(ctx, u.ID, "other@example.net", at(0)), store.ErrNotFound)
	pending := emailCode("old", u, "verify", at(0))
	require.NoError(t, ec.CreateEmailCode(ctx, pending))
	se := userSession("s1", u.ID, at(0))
	require.NoError(t, s.CreateSession(ctx, se, ""))

	// The same address again keeps the verification.
	same, _, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: se.TokenHash, Email: ptr(u.Email), EmailCanon: ptr(u.EmailCanon), UpdatedAt: at(time.Second)})
	require.NoError(t, err)
	assert.True(t, same.EmailVerifiedAt.Equal(at(0)))

	changed, _, err := s.UpdateUser(ctx, store.UserChange{UserID: u.ID, SessionHash: se.TokenHash, Email: ptr("New@Example.net"), EmailCanon: ptr("new@example.net"), UpdatedAt: at(time.Second)})
	require.NoError(t, err)
	assert.True(t, changed.EmailVerifiedAt.IsZero(), "a changed email is unverified")
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerifiedAt.IsZero())
	_, err = ec.ConsumeEmailCode(ctx, pending.Hash, "verify", at(time.Minute))
	require.ErrorIs(t, err, store.ErrNotFound, "a code for the old address is void")
}

func testCreatedVerified(t *testing.T, s store.Store, _ store.EmailCodes) {
	ctx := t.Context()
	u := emailUser("alice")
	u.EmailVerifiedAt = at(0)
	id, err := s.CreateIdentityUser(ctx, "firebase_email", "sub-1", u)
	require.NoError(t, err)
	got, err := s.User(ctx, id)
	require.NoError(t, err)
	assert.True(t, got.EmailVerifiedAt.Equal(at(0)))
}

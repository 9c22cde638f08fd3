package authtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// tokensOf runs the same steps on a fresh Env and returns what they produced.
func tokensOf(t *testing.T, opts ...authtest.Option) []string {
	env := authtest.New(t, opts...)
	u, s := env.SignedIn(t, "ann")
	app, err := env.Engine.CreateSession(context.Background())
	require.NoError(t, err)
	return []string{s.Token, s.ID, app.Token, app.ID, u.Login}
}

func TestSameTestSameTokens(t *testing.T) {
	first := tokensOf(t)
	second := tokensOf(t)
	assert.Equal(t, first, second, "run after run, the same tokens and ids")
	other := tokensOf(t, authtest.WithSeed(2))
	assert.NotEqual(t, first[0], other[0], "another seed, other tokens")
}

func TestEnv(t *testing.T) {
	env := authtest.New(t,
		authtest.WithUsers(authcube.NewUser{Login: "bob", Password: authtest.Password, Tags: []string{"t"}}),
		authtest.WithConfig(func(c *authcube.Config) { c.SessionIdleTTL = time.Hour }),
	)
	bob, s := env.SignedIn(t, "bob")
	assert.Equal(t, "bob", bob.Login)
	assert.Equal(t, authtest.Start, env.Clock.Now())
	assert.Equal(t, authtest.Start.Add(time.Hour), s.ExpiresAt, "WithConfig applied")

	env.Clock.Advance(time.Hour)
	_, err := env.Engine.Session(context.Background(), s.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized, "expired by the fake clock, no sleeping")

	_, s = env.SignedIn(t, "bob")
	env.Restart(t)
	got, err := env.Engine.Session(context.Background(), s.Token)
	require.NoError(t, err, "the session survives Restart")
	assert.Equal(t, bob.ID, got.UserID)

	env.Clock.Set(authtest.Start)
	assert.Equal(t, authtest.Start, env.Clock.Now())
	_, ok := env.Mailbox.Last()
	assert.False(t, ok)
	assert.Empty(t, env.Mailbox.LastResetToken())
}

// One Clock, from NewClock, may drive several Envs: moving it moves all of them.
func TestWithClock(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := authtest.NewClock(at)
	assert.Equal(t, at, clock.Now())
	a := authtest.New(t, authtest.WithClock(clock))
	b := authtest.New(t, authtest.WithClock(clock))
	assert.Same(t, clock, a.Clock)
	_, sa := a.SignedIn(t, "ann")
	_, sb := b.SignedIn(t, "bob")
	assert.Equal(t, at, sa.CreatedAt)
	assert.Equal(t, at, sb.CreatedAt)

	clock.Advance(authcube.DefaultSessionIdleTTL)
	_, err := a.Engine.Session(context.Background(), sa.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized, "expired: both engines see the time move")
	_, err = b.Engine.Session(context.Background(), sb.Token)
	require.ErrorIs(t, err, authcube.ErrUnauthorized, "expired: both engines see the time move")
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		authtest.New(b)
	}
}

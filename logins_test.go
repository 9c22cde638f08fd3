package authcube_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// S10: sign-in finds an account by the canonical form of the login or email it is given: a
// full-width spelling, other case, or a compatibility character signs in as the account.
func TestSignInWithAnotherSpellingOfTheLogin(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	for _, nu := range []authcube.NewUser{
		{Login: "BigBird", Password: testPassword},
		{Login: "ffoo", Email: "ffoo@example.org", Password: testPassword},
		{Login: "admin1", Password: testPassword},
	} {
		_, err := te.SignUp(ctx, app.Token, nu)
		require.NoError(t, err)
	}
	for _, c := range []authcube.Credentials{
		{Login: "ＢｉｇＢｉｒｄ"},
		{Login: "ｂｉｇｂｉｒｄ"},
		{Login: "BIGBIRD"},
		{Login: "\ufb00oo"}, // ﬀ ligature
		{Login: "ＦＦＯＯ"},
		{Login: "\U0001d41admin1"}, // mathematical bold a
		{Email: "\ufb00oo@example.org"},
		{Email: "ＦＦＯＯ@Example.ORG"},
	} {
		c.Password = testPassword
		s, err := te.CreateUserSession(ctx, c)
		require.NoError(t, err, "%+v", c)
		assert.True(t, s.IsUser())
	}
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "\ufb00oo", Password: testPassword})
	requireCode(t, err, authcube.ErrConflict, "login")
	_, err = te.SignUp(ctx, app.Token, authcube.NewUser{Email: "\ufb00oo@example.org", Password: testPassword})
	requireCode(t, err, authcube.ErrConflict, "email")
	_, err = te.SignUp(ctx, app.Token, authcube.NewUser{Login: "\U0001d41admin1", Password: testPassword})
	requireCode(t, err, authcube.ErrConflict, "login")
}

// S11, R2: 100 concurrent sign-ups of one email in four spellings, each with its own login,
// give exactly one success; the others are conflicts on the email.
func TestConcurrentSignUpsOfOneEmail(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.Rand = nil })
	app := te.appSession(t)
	spellings := []string{"Mike@Example.org", "mike@example.org", "ＭＩＫＥ@example.org", "MIKE@EXAMPLE.ORG"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: fmt.Sprintf("mike%d", i), Email: spellings[i%4], Password: testPassword})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok, conflicts := 0, 0
	for err := range errs {
		var ae *authcube.Error
		switch {
		case err == nil:
			ok++
		case errors.Is(err, authcube.ErrConflict) && errors.As(err, &ae) && ae.Field == "email":
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 99, conflicts)
}

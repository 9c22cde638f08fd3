package httpauth_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/httpauth"
)

// A sign-in of a user with TOTP gives a challenge and no cookie; CompleteSignIn with the code
// sets the fresh session's cookie (S39, S41).
func TestCompleteSignInSetsCookie(t *testing.T) {
	a := newApp(t, httpauth.Config{Insecure: true})
	ctx := t.Context()
	s, err := a.env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "ann01", Password: authtest.Password})
	require.NoError(t, err)
	en, err := a.env.Engine.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	_, err = a.env.Engine.ConfirmTOTP(ctx, s.Token, a.env.Clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	a.env.Clock.Advance(30 * time.Second)

	_, ok := httpauth.Challenge(nil)
	assert.False(t, ok)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "http://app.example/signin", nil)
	_, err = a.auth.SignIn(w, r, authcube.Credentials{Login: "ann01", Password: authtest.Password})
	ch, ok := httpauth.Challenge(err)
	require.True(t, ok, "%v", err)
	assert.Empty(t, w.Result().Cookies(), "no cookie before the code")

	w = httptest.NewRecorder()
	_, err = a.auth.CompleteSignIn(w, r, ch, "000000", httpauth.SignInOptions{})
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials)
	assert.Empty(t, w.Result().Cookies())
	w = httptest.NewRecorder()
	u, err := a.auth.CompleteSignIn(w, r, ch, a.env.Clock.TOTPCode(en.Secret), httpauth.SignInOptions{})
	require.NoError(t, err)
	assert.Equal(t, "ann01", u.Login)
	cookies := w.Result().Cookies()
	require.NotEmpty(t, cookies)
	assert.Equal(t, "ann01", a.do("GET", "/whoami", nil, cookies).Body.String())
}

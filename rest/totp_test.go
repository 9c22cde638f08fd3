package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
)

// TestSecondFactorOverREST: ConnectyCube's SDKs know no second factor, so a right password of
// a user with TOTP is a 401 that names it (never the challenge), and a wrong one the usual 401
// (S39).
func TestSecondFactorOverREST(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	ctx := t.Context()
	_, us := s.env.SignedIn(t, "bob")
	en, err := s.env.Engine.EnrollTOTP(ctx, us.Token)
	require.NoError(t, err)
	_, err = s.env.Engine.ConfirmTOTP(ctx, us.Token, s.env.Clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	tok := s.appToken()

	r := s.do("POST", "/login.json", tok, map[string]any{"login": "bob", "password": "wrong password"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.JSONEq(t, `{"errors":{"base":["Unauthorized"]}}`, string(r.body))
	r = s.do("POST", "/login.json", tok, map[string]any{"login": "bob", "password": authtest.Password})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Contains(t, string(r.body), "second factor")
	_, err = s.env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "bob", Password: authtest.Password})
	require.ErrorIs(t, err, authcube.ErrSecondFactorRequired)
}

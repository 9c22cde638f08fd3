package authcube_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// S35: look-alike logins and invisible characters are refused at sign-up; logins in one
// script, or Latin mixed as Japanese, Chinese and Korean writing mix it, are accepted.
func TestSignUpRefusesLookAlikes(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "alice1", Password: "correct horse battery"}))
	app, err := env.Engine.CreateSession(t.Context())
	require.NoError(t, err)
	signUp := func(u authcube.NewUser) error {
		u.Password = "correct horse battery"
		_, err := env.Engine.SignUp(t.Context(), app.Token, u)
		return err
	}
	for _, login := range []string{"\u0430lice1", "b\u03bfb1", "alice\u200b1", "ali\u00adce1"} {
		requireCode(t, signUp(authcube.NewUser{Login: login}), authcube.ErrInvalid, "login")
	}
	requireCode(t, signUp(authcube.NewUser{Email: "ann\u200b@example.org"}), authcube.ErrInvalid, "email")
	requireCode(t, signUp(authcube.NewUser{Login: "ann-zw", FullName: "Ann\u200b Lee"}), authcube.ErrInvalid, "full_name")
	for _, login := range []string{"山田たろうtaro", "王小明wang", "김민준kim", "\u0430\u043b\u0438\u0441\u0430", "bob1"} {
		require.NoError(t, signUp(authcube.NewUser{Login: login}), login)
	}
}

package authcube_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// Error() shows the cause, as fs.PathError does, so that a log line or a command's output says
// what went wrong; Message stays the safe text for end users.
func TestErrorShowsCause(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, []byte("not a directory"), 0o600))
	_, err := authcube.Open(ctx, authcube.Config{Dir: file})
	require.Error(t, err)
	var ae *authcube.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, authcube.CodeInternal, ae.Code)
	assert.Equal(t, "internal error", ae.Message, "the end user's text has no cause")
	require.NotNil(t, ae.Err)
	assert.ErrorIs(t, err, syscall.ENOTDIR)
	assert.True(t, strings.HasPrefix(err.Error(), "authcube: open: internal error: "), err.Error())
	assert.True(t, strings.HasSuffix(err.Error(), ae.Err.Error()), "Error() ends with the cause: %v", err)
	assert.Contains(t, err.Error(), "not a directory")

	// Without a cause, nothing is added.
	plain := &authcube.Error{Code: authcube.CodeInvalid, Op: "sign up", Field: "login", Message: "is required"}
	assert.Equal(t, "authcube: sign up: login: is required", plain.Error())
	wrapped := &authcube.Error{Code: authcube.CodeInternal, Op: "x", Message: "internal error", Err: errors.New("disk full")}
	assert.Equal(t, "authcube: x: internal error: disk full", wrapped.Error())
}

// Every field has one name in errors, whichever call finds it at fault: sign-up, update, a
// look-up or a query condition. A user field's name is its Field constant.
func TestEachFieldHasOneName(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: authtest.Password}))
	e := env.Engine
	app, err := e.CreateSession(ctx)
	require.NoError(t, err)
	_, user := env.SignedIn(t, "ann")
	signUp := func(nu authcube.NewUser) error {
		if nu.Login == "" && nu.Email == "" {
			nu.Login = "zed"
		}
		if nu.Password == "" {
			nu.Password = authtest.Password
		}
		_, err := e.SignUp(ctx, app.Token, nu)
		return err
	}
	update := func(uu authcube.UserUpdate) error {
		_, err := e.UpdateUser(ctx, user.Token, uu)
		return err
	}
	where := func(f authcube.Field, op authcube.Op, values ...any) error {
		_, err := e.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{{Field: f, Op: op, Values: values}}})
		return err
	}
	long := strings.Repeat("x", 3000)
	names := map[string][]error{
		string(authcube.FieldLogin): {
			signUp(authcube.NewUser{Login: "x!"}), update(authcube.UserUpdate{Login: new("x!")}),
			where(authcube.FieldLogin, authcube.OpEq, 5),
		},
		string(authcube.FieldEmail): {
			signUp(authcube.NewUser{Email: "not an email"}), update(authcube.UserUpdate{Email: new("not an email")}),
			where(authcube.FieldEmail, authcube.OpEq, 5),
		},
		string(authcube.FieldFullName): {
			signUp(authcube.NewUser{FullName: long}), update(authcube.UserUpdate{FullName: new(long)}),
			where(authcube.FieldFullName, authcube.OpEq, 5),
		},
		string(authcube.FieldPhone): {
			signUp(authcube.NewUser{Phone: "12"}), update(authcube.UserUpdate{Phone: new("12")}),
			where(authcube.FieldPhone, authcube.OpEq, 5),
			func() error { _, err := e.UserByPhone(ctx, app.Token, ""); return err }(),
		},
		string(authcube.FieldWebsite): {
			signUp(authcube.NewUser{Website: "ftp://x y"}), update(authcube.UserUpdate{Website: new("ftp://x y")}),
			where(authcube.FieldWebsite, authcube.OpEq, 5),
		},
		string(authcube.FieldExternalID): {
			signUp(authcube.NewUser{ExternalID: long}), update(authcube.UserUpdate{ExternalID: new(long)}),
			where(authcube.FieldExternalID, authcube.OpEq, 5),
			func() error { _, err := e.UserByExternalID(ctx, app.Token, ""); return err }(),
		},
		string(authcube.FieldTags): {
			signUp(authcube.NewUser{Tags: []string{"a,b"}}), update(authcube.UserUpdate{Tags: new([]string{"a,b"})}),
			where(authcube.FieldTags, authcube.OpIn, "a,b"), where(authcube.FieldTags, authcube.OpLt, "a"),
			func() error { _, err := e.UsersByTags(ctx, app.Token, []string{""}, authcube.Page{}); return err }(),
			func() error { _, err := e.UsersByTags(ctx, app.Token, nil, authcube.Page{}); return err }(),
		},
		string(authcube.FieldID): {
			where(authcube.FieldID, authcube.OpEq, "x"),
		},
		"custom_data": {
			signUp(authcube.NewUser{CustomData: "a\x00b"}), update(authcube.UserUpdate{CustomData: new("a\x00b")}),
		},
		"password": {
			signUp(authcube.NewUser{Login: "zed", Password: "short"}),
			update(authcube.UserUpdate{Password: new("short"), OldPassword: authtest.Password}),
			func() error {
				require.NoError(t, e.ResetPassword(ctx, app.Token, "ann@example.org"))
				return e.ConfirmPasswordReset(ctx, env.Mailbox.LastResetToken(), "short")
			}(),
			func() error { _, err := e.SignIn(ctx, app.Token, authcube.Credentials{Login: "ann"}); return err }(),
		},
	}
	for name, errs := range names {
		for i, err := range errs {
			var ae *authcube.Error
			if assert.ErrorAs(t, err, &ae, "%s case %d", name, i) {
				assert.Equal(t, name, ae.Field, "%s case %d: %v", name, i, err)
			}
		}
	}
}

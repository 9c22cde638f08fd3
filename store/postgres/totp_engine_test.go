package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// Two engines on one schema share the second factor: a secret sealed by A opens on B (the key
// lives in the store's secrets), and a challenge from a sign-in on A completes on B, once.
func TestSecondFactorAcrossEngines(t *testing.T) {
	a, b := enginesOnOneSchema(t)
	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	_, err = a.SignUp(ctx, app.Token, authcube.NewUser{Login: "trillian", Password: "correct horse battery"})
	require.NoError(t, err)
	creds := authcube.Credentials{Login: "trillian", Password: "correct horse battery"}
	s, err := a.CreateUserSession(ctx, creds)
	require.NoError(t, err)
	en, err := a.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	_, err = a.ConfirmTOTP(ctx, s.Token, authtest.TOTPCode(en.Secret, time.Now()))
	require.NoError(t, err)

	_, err = a.CreateUserSession(ctx, creds)
	var ae *authcube.Error
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, authcube.ErrSecondFactorRequired)
	// The next step's code: within the drift, and after the confirming code's step.
	code := authtest.TOTPCode(en.Secret, time.Now().Add(30*time.Second))
	fresh, err := b.CompleteSignIn(ctx, ae.Challenge, code)
	require.NoError(t, err)
	_, err = a.Session(ctx, fresh.Token)
	require.NoError(t, err)
	_, err = a.CompleteSignIn(ctx, ae.Challenge, code)
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials, "single use across engines")
}

package authcube_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// enrolled signs up login, enrols and confirms TOTP for it, and returns the enrolment and the
// recovery codes. The clock moves one step on, past the confirming code's.
func enrolled(t *testing.T, te *testEngine, login string) (authcube.TOTPEnrollment, []string) {
	t.Helper()
	ctx := context.Background()
	te.signUp(t, login)
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: login, Password: testPassword})
	require.NoError(t, err)
	en, err := te.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	codes, err := te.ConfirmTOTP(ctx, s.Token, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	te.clock.Advance(30 * time.Second)
	return en, codes
}

// challenge signs in with the password and returns the challenge of ErrSecondFactorRequired.
func challenge(t *testing.T, te *testEngine, login string) string {
	t.Helper()
	_, err := te.CreateUserSession(context.Background(), authcube.Credentials{Login: login, Password: testPassword})
	ae := requireCode(t, err, authcube.ErrSecondFactorRequired, "")
	require.NotEmpty(t, ae.Challenge)
	assert.NotContains(t, err.Error(), ae.Challenge, "Error() never shows the challenge")
	return ae.Challenge
}

func TestTOTPEnrolConfirmAndSignIn(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	te.signUp(t, "alice")
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "alice", Password: testPassword})
	require.NoError(t, err)
	en, err := te.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	assert.Contains(t, en.URL, "otpauth://totp/")
	assert.Contains(t, en.URL, "secret="+en.Secret)
	assert.NotContains(t, en.String(), en.Secret)

	_, err = te.EnrollTOTP(ctx, te.appSession(t).Token)
	requireCode(t, err, authcube.ErrForbidden, "")

	// Pending: sign-ins are not asked for a code yet.
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "alice", Password: testPassword})
	require.NoError(t, err)

	_, err = te.ConfirmTOTP(ctx, s.Token, "000000")
	requireCode(t, err, authcube.ErrInvalidCredentials, "code")
	codes, err := te.ConfirmTOTP(ctx, s.Token, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(codes), 8)
	_, err = te.ConfirmTOTP(ctx, s.Token, te.clock.TOTPCode(en.Secret))
	requireCode(t, err, authcube.ErrNotFound, "totp")
	_, err = te.EnrollTOTP(ctx, s.Token)
	requireCode(t, err, authcube.ErrConflict, "totp")
	st, err := te.SecondFactor(ctx, s.Token)
	require.NoError(t, err)
	assert.Equal(t, authcube.SecondFactorStatus{TOTP: true, RecoveryCodesLeft: len(codes)}, st)

	// A wrong password never reveals the second factor.
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "alice", Password: "wrong password!"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	assert.False(t, errors.Is(err, authcube.ErrSecondFactorRequired))

	te.clock.Advance(30 * time.Second)
	ch := challenge(t, te, "alice")
	_, err = te.CompleteSignIn(ctx, ch, "123456")
	requireCode(t, err, authcube.ErrInvalidCredentials, "code")
	code := te.clock.TOTPCode(en.Secret)
	fresh, err := te.CompleteSignIn(ctx, ch, code)
	require.NoError(t, err, "a wrong code leaves the challenge for another try")
	assert.Equal(t, s.UserID, fresh.UserID)
	assert.NotEqual(t, s.Token, fresh.Token)
	got, err := te.Session(ctx, fresh.Token)
	require.NoError(t, err)
	assert.Equal(t, s.UserID, got.UserID)

	_, err = te.CompleteSignIn(ctx, ch, te.clock.TOTPCode(en.Secret))
	requireCode(t, err, authcube.ErrInvalidCredentials, "challenge") // single use

	// The same code is not accepted twice (no replay), even with a new challenge.
	ch2 := challenge(t, te, "alice")
	_, err = te.CompleteSignIn(ctx, ch2, code)
	requireCode(t, err, authcube.ErrInvalidCredentials, "code")
	te.clock.Advance(30 * time.Second)
	_, err = te.CompleteSignIn(ctx, ch2, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	assert.Contains(t, te.events.kinds(), authcube.TOTPEnrolled)
	assert.Contains(t, te.events.kinds(), authcube.TOTPConfirmed)
	assert.Contains(t, te.events.kinds(), authcube.SecondFactorRequired)
	assert.Contains(t, te.events.kinds(), authcube.SecondFactorPassed)
	assert.Contains(t, te.events.kinds(), authcube.SecondFactorFailed)
}

func TestTOTPDriftOneStep(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, _ := enrolled(t, te, "alice")
	te.clock.Advance(5 * time.Minute)
	now := te.clock.Now()
	_, err := te.CompleteSignIn(ctx, challenge(t, te, "alice"), authtest.TOTPCode(en.Secret, now.Add(-60*time.Second)))
	requireCode(t, err, authcube.ErrInvalidCredentials, "code")
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), authtest.TOTPCode(en.Secret, now.Add(60*time.Second)))
	requireCode(t, err, authcube.ErrInvalidCredentials, "code")
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), authtest.TOTPCode(en.Secret, now.Add(-30*time.Second)))
	require.NoError(t, err, "one step behind")
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), authtest.TOTPCode(en.Secret, now.Add(30*time.Second)))
	require.NoError(t, err, "one step ahead")
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), authtest.TOTPCode(en.Secret, now))
	requireCode(t, err, authcube.ErrInvalidCredentials, "code") // an earlier step than one already used
}

func TestSecondFactorChallengeExpires(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, _ := enrolled(t, te, "alice")
	ch := challenge(t, te, "alice")
	te.clock.Advance(authcube.ChallengeTTL)
	_, err := te.CompleteSignIn(ctx, ch, te.clock.TOTPCode(en.Secret))
	requireCode(t, err, authcube.ErrInvalidCredentials, "challenge")
	_, err = te.CompleteSignIn(ctx, "not a challenge", te.clock.TOTPCode(en.Secret))
	requireCode(t, err, authcube.ErrInvalidCredentials, "challenge")
}

func TestRecoveryCodesSingleUseAndRegenerated(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, codes := enrolled(t, te, "alice")
	s, err := te.CompleteSignIn(ctx, challenge(t, te, "alice"), codes[0])
	require.NoError(t, err)
	assert.Contains(t, te.events.kinds(), authcube.RecoveryCodeUsed)
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), codes[0])
	requireCode(t, err, authcube.ErrInvalidCredentials, "code")
	// Typed in upper case without the dash, it is the same code.
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), " "+string(bytes.ToUpper([]byte(codes[1][:5]+codes[1][6:])))+" ")
	require.NoError(t, err)

	_, err = te.RegenerateRecoveryCodes(ctx, s.Token, "wrong password!")
	requireCode(t, err, authcube.ErrInvalidCredentials, "proof")
	fresh, err := te.RegenerateRecoveryCodes(ctx, s.Token, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	assert.Len(t, fresh, len(codes))
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), codes[2])
	requireCode(t, err, authcube.ErrInvalidCredentials, "code") // the old codes are void
	_, err = te.CompleteSignIn(ctx, challenge(t, te, "alice"), fresh[0])
	require.NoError(t, err)
}

func TestDisableTOTPNeedsPasswordOrCode(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, codes := enrolled(t, te, "alice")
	s, err := te.CompleteSignIn(ctx, challenge(t, te, "alice"), codes[0])
	require.NoError(t, err)
	require.ErrorIs(t, te.DisableTOTP(ctx, s.Token, "wrong password!"), authcube.ErrInvalidCredentials)
	require.ErrorIs(t, te.DisableTOTP(ctx, s.Token, codes[1]), authcube.ErrInvalidCredentials, "a recovery code is not a proof")
	require.NoError(t, te.DisableTOTP(ctx, s.Token, testPassword))
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Login: "alice", Password: testPassword})
	require.NoError(t, err, "disabled: the password alone signs in")
	assert.Contains(t, te.events.kinds(), authcube.TOTPDisabled)

	// Again, disabled with a current code.
	en2, err := te.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	assert.NotEqual(t, en.Secret, en2.Secret)
	_, err = te.ConfirmTOTP(ctx, s.Token, te.clock.TOTPCode(en2.Secret))
	require.NoError(t, err)
	te.clock.Advance(30 * time.Second)
	require.NoError(t, te.DisableTOTP(ctx, s.Token, te.clock.TOTPCode(en2.Secret)))
	requireCode(t, te.DisableTOTP(ctx, s.Token, testPassword), authcube.ErrNotFound, "totp")
}

func TestSignInOnTokenAsksSecondFactor(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, _ := enrolled(t, te, "alice")
	app := te.appSession(t)
	_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Login: "alice", Password: testPassword})
	ae := requireCode(t, err, authcube.ErrSecondFactorRequired, "")
	s, err := te.Session(ctx, app.Token)
	require.NoError(t, err)
	assert.Zero(t, s.UserID, "the token stays an application session")
	fresh, err := te.CompleteSignIn(ctx, ae.Challenge, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	assert.NotEqual(t, app.Token, fresh.Token)
	assert.NotZero(t, fresh.UserID)
}

func TestSecondFactorCodesThrottled(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, _ := enrolled(t, te, "alice")
	ch := challenge(t, te, "alice")
	var err error
	for range 20 {
		if _, err = te.CompleteSignIn(ctx, ch, "000000"); errors.Is(err, authcube.ErrThrottled) {
			break
		}
	}
	require.ErrorIs(t, err, authcube.ErrThrottled)
	_, err = te.CompleteSignIn(ctx, ch, te.clock.TOTPCode(en.Secret))
	require.ErrorIs(t, err, authcube.ErrThrottled, "a right code waits too")
}

func TestTOTPSecretNeverStoredInClear(t *testing.T) {
	te := newTestEngine(t)
	en, codes := enrolled(t, te, "alice")
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret)
	require.NoError(t, err)
	require.NoError(t, te.Close())
	found := 0
	require.NoError(t, filepath.Walk(te.cfg.Dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found++
		for _, secret := range [][]byte{raw, []byte(en.Secret), []byte(codes[0]), []byte(codes[0][:5] + codes[0][6:])} {
			assert.False(t, bytes.Contains(b, secret), "%s holds a secret", path)
		}
		return nil
	}))
	assert.NotZero(t, found)
}

func TestTOTPQRCode(t *testing.T) {
	te := newTestEngine(t)
	en, _ := enrolled(t, te, "alice")
	png, err := authcube.TOTPQRCode(en.URL, 0)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))
	_, err = authcube.TOTPQRCode("https://example.com", 0)
	requireCode(t, err, authcube.ErrInvalid, "url")
}

func TestClientSecondFactor(t *testing.T) {
	ctx := context.Background()
	te := newTestEngine(t)
	en, _ := enrolled(t, te, "alice")
	c := authcube.NewClient(te.Engine, nil)
	_, err := c.SignIn(ctx, authcube.Credentials{Login: "alice", Password: testPassword})
	ae := requireCode(t, err, authcube.ErrSecondFactorRequired, "")
	assert.False(t, c.IsSignedIn())
	s, err := c.CompleteSignIn(ctx, ae.Challenge, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	assert.True(t, c.IsSignedIn())
	got, err := c.Session(ctx)
	require.NoError(t, err)
	assert.Equal(t, s.ID, got.ID)
}

// S28, S38: the engine's log records and events never hold a TOTP secret, a code, a
// challenge, a recovery code, a verification token or a sign-in code.
func TestSecondFactorSecretsNeverLogged(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.EmailVerification = authcube.EmailVerifySend
		c.SignInCodes = true
		c.OnEvent = func(ev authcube.Event) { fmt.Fprintf(&buf, "%+v %v\n", ev, ev.Err) }
	}))
	e := env.Engine
	app, err := e.CreateSession(ctx)
	require.NoError(t, err)
	_, err = e.SignUp(ctx, app.Token, authcube.NewUser{Login: "ann", Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	verify := env.Mailbox.LastVerifyToken()
	require.NoError(t, e.VerifyEmail(ctx, verify))
	s, err := e.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err)
	en, err := e.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	first := env.Clock.TOTPCode(en.Secret)
	_, err = e.ConfirmTOTP(ctx, s.Token, "999999")
	require.Error(t, err)
	codes, err := e.ConfirmTOTP(ctx, s.Token, first)
	require.NoError(t, err)
	env.Clock.Advance(30 * time.Second)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	var ae *authcube.Error
	require.ErrorAs(t, err, &ae)
	_, err = e.CompleteSignIn(ctx, ae.Challenge, codes[0]+"x")
	require.Error(t, err)
	_, err = e.CompleteSignIn(ctx, ae.Challenge, codes[0])
	require.NoError(t, err)
	require.NoError(t, e.RequestSignInCode(ctx, app.Token, authcube.Credentials{Email: "ann@example.com"}))
	code := env.Mailbox.LastSignInCode()
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: code})
	require.ErrorIs(t, err, authcube.ErrSecondFactorRequired)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("values", "enrollment", en, "err", err)

	out := buf.String()
	require.Contains(t, out, "SecondFactorPassed")
	for name, secret := range map[string]string{"secret": en.Secret, "confirming code": first, "challenge": ae.Challenge,
		"recovery code": codes[0], "verify token": verify, "sign-in code": code} {
		assert.NotContains(t, out, secret, "the %s", name)
	}
}

package authcube_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

func emailEnv(t *testing.T, f func(*authcube.Config)) *authtest.Env {
	return authtest.New(t, authtest.WithConfig(f))
}

func appToken(t *testing.T, env *authtest.Env) string {
	t.Helper()
	s, err := env.Engine.CreateSession(context.Background())
	require.NoError(t, err)
	return s.Token
}

func messagesTo(env *authtest.Env, to string, kind authcube.MessageKind) int {
	n := 0
	for _, m := range env.Mailbox.Messages() {
		if m.To == to && m.Kind == kind {
			n++
		}
	}
	return n
}

func TestEmailVerificationOnSignUpAndChange(t *testing.T) {
	ctx := context.Background()
	env := emailEnv(t, func(c *authcube.Config) { c.EmailVerification = authcube.EmailVerifySend })
	e := env.Engine
	u, err := e.SignUp(ctx, appToken(t, env), authcube.NewUser{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	assert.False(t, u.EmailVerified)
	first := env.Mailbox.LastVerifyToken()
	require.NotEmpty(t, first)

	s, err := e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err, "EmailVerifySend does not refuse sign-in")
	require.NoError(t, e.VerifyEmail(ctx, first))
	requireCode(t, e.VerifyEmail(ctx, first), authcube.ErrInvalid, "verify_token") // single use
	got, err := e.User(ctx, s.Token, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerified)
	assert.Equal(t, env.Clock.Now(), got.EmailVerifiedAt)

	// An email change: unverified until confirmed, the old address told, the new one asked.
	changed, err := e.UpdateUser(ctx, s.Token, authcube.UserUpdate{Email: ptrTo("ann@example.net")})
	require.NoError(t, err)
	assert.False(t, changed.EmailVerified)
	require.NoError(t, e.FlushMail(ctx))
	assert.Equal(t, 1, messagesTo(env, "ann@example.com", authcube.MessageEmailChanged))
	assert.Equal(t, 1, messagesTo(env, "ann@example.net", authcube.MessageVerifyEmail))
	second := env.Mailbox.LastVerifyToken()
	assert.NotEqual(t, first, second)

	// A link for an address the user no longer has is void.
	_, err = e.UpdateUser(ctx, s.Token, authcube.UserUpdate{Email: ptrTo("ann@example.org")})
	require.NoError(t, err)
	requireCode(t, e.VerifyEmail(ctx, second), authcube.ErrInvalid, "verify_token")
	third := env.Mailbox.LastVerifyToken()
	env.Clock.Advance(authcube.VerifyEmailTTL)
	requireCode(t, e.VerifyEmail(ctx, third), authcube.ErrInvalid, "verify_token") // expired
	s, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.org", Password: authtest.Password})
	require.NoError(t, err)
	require.NoError(t, e.SendEmailVerification(ctx, s.Token))
	require.NoError(t, e.VerifyEmail(ctx, env.Mailbox.LastVerifyToken()))
	got, err = e.User(ctx, s.Token, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerified)
}

func ptrTo[T any](v T) *T { return &v }

func TestEmailVerificationOffSendsNothing(t *testing.T) {
	ctx := context.Background()
	env := authtest.New(t)
	_, err := env.Engine.SignUp(ctx, appToken(t, env), authcube.NewUser{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	assert.Empty(t, env.Mailbox.LastVerifyToken())
}

func TestRequiredEmailVerification(t *testing.T) {
	ctx := context.Background()
	env := emailEnv(t, func(c *authcube.Config) { c.EmailVerification = authcube.EmailVerifyRequire })
	e := env.Engine
	_, err := e.SignUp(ctx, appToken(t, env), authcube.NewUser{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Password: "wrong password!"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "") // a wrong password learns nothing
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Password: authtest.Password})
	requireCode(t, err, authcube.ErrEmailNotVerified, "email")
	_, err = e.SignIn(ctx, appToken(t, env), authcube.Credentials{Email: "ann@example.com", Password: authtest.Password})
	requireCode(t, err, authcube.ErrEmailNotVerified, "email")
	require.NoError(t, e.VerifyEmail(ctx, env.Mailbox.LastVerifyToken()))
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
}

func codeEnv(t *testing.T, mods ...func(*authcube.Config)) *authtest.Env {
	return emailEnv(t, func(c *authcube.Config) {
		c.SignInCodes = true
		c.SignInCodeURL = "https://app.example/code?email={email}&code={code}"
		for _, m := range mods {
			m(c)
		}
	})
}

func TestSignInCodeByEmail(t *testing.T) {
	ctx := context.Background()
	env := codeEnv(t)
	e := env.Engine
	u, err := e.SignUp(ctx, appToken(t, env), authcube.NewUser{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	app := appToken(t, env)
	// The same answer whether or not an account has the address (S18).
	require.NoError(t, e.RequestSignInCode(ctx, app, authcube.Credentials{Email: "nobody@example.com"}))
	require.NoError(t, e.RequestSignInCode(ctx, app, authcube.Credentials{Email: "Ann@Example.com"}))
	require.NoError(t, e.FlushMail(ctx))
	assert.Len(t, env.Mailbox.Messages(), 1, "mail only to an existing account")
	m, _ := env.Mailbox.Last()
	code := env.Mailbox.LastSignInCode()
	assert.Regexp(t, `^[0-9]{6}$`, code)
	assert.Contains(t, m.Link, "code="+code)
	assert.NotContains(t, m.String(), code)

	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: "000000"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	s, err := e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: code})
	require.NoError(t, err)
	assert.Equal(t, u.ID, s.UserID)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: code})
	requireCode(t, err, authcube.ErrInvalidCredentials, "") // single use
	got, err := e.User(ctx, s.Token, u.ID)
	require.NoError(t, err)
	assert.True(t, got.EmailVerified, "a sign-in code verifies the address")

	// Ten minutes.
	require.NoError(t, e.RequestSignInCode(ctx, app, authcube.Credentials{Email: "ann@example.com"}))
	code = env.Mailbox.LastSignInCode()
	env.Clock.Advance(authcube.SignInCodeTTL)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: code})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
}

func TestSignInCodesOffByDefault(t *testing.T) {
	ctx := context.Background()
	env := authtest.New(t)
	err := env.Engine.RequestSignInCode(ctx, appToken(t, env), authcube.Credentials{Email: "ann@example.com"})
	requireCode(t, err, authcube.ErrInvalid, "code")
	_, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: "123456"})
	requireCode(t, err, authcube.ErrInvalid, "code")
}

func TestSignInCodeRequestsThrottled(t *testing.T) {
	ctx := context.Background()
	env := codeEnv(t)
	app := appToken(t, env)
	var err error
	for range 50 {
		if err = env.Engine.RequestSignInCode(ctx, app, authcube.Credentials{Email: "nobody@example.com"}); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, authcube.ErrThrottled, "per address")
	for i := range 200 {
		c := authcube.Credentials{Email: "user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com", ClientAddr: "203.0.113.7"}
		if err = env.Engine.RequestSignInCode(ctx, app, c); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, authcube.ErrThrottled, "per client")

	// Guessing codes is throttled per address as passwords are.
	for range 50 {
		if _, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: "000000"}); errors.Is(err, authcube.ErrThrottled) {
			break
		}
	}
	require.ErrorIs(t, err, authcube.ErrThrottled)
}

func TestPasswordlessAccountSignsInWithCodes(t *testing.T) {
	ctx := context.Background()
	env := codeEnv(t, func(c *authcube.Config) { c.Passwordless = true })
	e := env.Engine
	_, err := e.SignUp(ctx, appToken(t, env), authcube.NewUser{Login: "nopass"})
	requireCode(t, err, authcube.ErrInvalid, "password") // passwordless needs an email
	u, err := e.SignUp(ctx, appToken(t, env), authcube.NewUser{Email: "ann@example.com"})
	require.NoError(t, err)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Password: "any password at all"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	require.NoError(t, e.RequestSignInCode(ctx, appToken(t, env), authcube.Credentials{Email: "ann@example.com"}))
	s, err := e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: env.Mailbox.LastSignInCode()})
	require.NoError(t, err)
	assert.Equal(t, u.ID, s.UserID)

	off := authtest.New(t)
	_, err = off.Engine.SignUp(ctx, appToken(t, off), authcube.NewUser{Email: "ann@example.com"})
	requireCode(t, err, authcube.ErrInvalid, "password")
}

func TestSignInCodeAsksSecondFactor(t *testing.T) {
	ctx := context.Background()
	env := codeEnv(t)
	e := env.Engine
	_, err := e.SignUp(ctx, appToken(t, env), authcube.NewUser{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	s, err := e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Password: authtest.Password})
	require.NoError(t, err)
	en, err := e.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	_, err = e.ConfirmTOTP(ctx, s.Token, env.Clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	env.Clock.Advance(30 * time.Second)
	require.NoError(t, e.RequestSignInCode(ctx, appToken(t, env), authcube.Credentials{Email: "ann@example.com"}))
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Email: "ann@example.com", Code: env.Mailbox.LastSignInCode()})
	ae := requireCode(t, err, authcube.ErrSecondFactorRequired, "")
	_, err = e.CompleteSignIn(ctx, ae.Challenge, env.Clock.TOTPCode(en.Secret))
	require.NoError(t, err)
}

// An email a provider verified counts as verified (S40); a provider sign-in of a user with a
// second factor asks for it unless the app exempts the provider (Config.SecondFactorExempt).
func TestProviderVerifiedEmailAndSecondFactor(t *testing.T) {
	ctx := context.Background()
	te, issuer := firebaseEngine(t, nil)
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_email", Token: issuer.EmailToken("uid-1", "bird@example.org")})
	require.NoError(t, err)
	u, err := te.User(ctx, s.Token, s.UserID)
	require.NoError(t, err)
	assert.True(t, u.EmailVerified)

	en, err := te.EnrollTOTP(ctx, s.Token)
	require.NoError(t, err)
	_, err = te.ConfirmTOTP(ctx, s.Token, te.clock.TOTPCode(en.Secret))
	require.NoError(t, err)
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_email", Token: issuer.EmailToken("uid-1", "bird@example.org")})
	requireCode(t, err, authcube.ErrSecondFactorRequired, "")

	te.cfg.SecondFactorExempt = []string{"firebase_email"}
	te.restart(t)
	_, err = te.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_email", Token: issuer.EmailToken("uid-1", "bird@example.org")})
	require.NoError(t, err)
}

func TestEmailConfigChecked(t *testing.T) {
	for _, f := range []func(*authcube.Config){
		func(c *authcube.Config) { c.EmailVerification = 7 },
		func(c *authcube.Config) { c.VerifyEmailURL = "https://app.example/verify" },
		func(c *authcube.Config) { c.SignInCodeURL = "https://app.example/code" },
	} {
		cfg := authcube.Config{Dir: t.TempDir()}
		f(&cfg)
		_, err := authcube.Open(context.Background(), cfg)
		require.ErrorIs(t, err, authcube.ErrInvalid)
	}
}

package authcube_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// resetEnv is an Env with a user marvin18 <Marvin@Example.org>, two of its sessions, and an
// application session.
func resetEnv(t *testing.T, opts ...authtest.Option) (*authtest.Env, authcube.Session, []authcube.Session) {
	env := authtest.New(t, append([]authtest.Option{
		authtest.WithUsers(authcube.NewUser{Login: "marvin18", Email: "Marvin@Example.org", Password: authtest.Password}),
		authtest.WithConfig(func(c *authcube.Config) { c.ResetURL = "https://app.example/reset?t={token}" }),
	}, opts...)...)
	var sessions []authcube.Session
	for range 2 {
		_, s := env.SignedIn(t, "marvin18")
		sessions = append(sessions, s)
	}
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	return env, app, sessions
}

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	var events events
	env, app, sessions := resetEnv(t, authtest.WithConfig(func(c *authcube.Config) { c.OnEvent = events.add }))

	require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "MARVIN@example.org"))
	msgs := env.Mailbox.Messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	assert.Equal(t, authcube.MessagePasswordReset, m.Kind)
	assert.Equal(t, "Marvin@example.org", m.To, "the stored address")
	assert.Equal(t, authcube.DefaultMailFrom, m.From)
	assert.Len(t, m.Token, 43)
	assert.Equal(t, "https://app.example/reset?t="+m.Token, m.Link)
	assert.Contains(t, m.Text, m.Link)
	assert.NotContains(t, m.String()+m.GoString(), m.Token, "the token never prints")
	assert.Equal(t, m.Token, env.Mailbox.LastResetToken())

	require.NoError(t, env.Engine.ConfirmPasswordReset(ctx, m.Token, "my new password"))
	for _, s := range sessions {
		_, err := env.Engine.Session(ctx, s.Token)
		require.ErrorIs(t, err, authcube.ErrUnauthorized, "a reset ends every session of the user")
	}
	env.Restart(t)
	for _, s := range sessions {
		_, err := env.Engine.Session(ctx, s.Token)
		require.ErrorIs(t, err, authcube.ErrUnauthorized, "and durably")
	}
	_, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password})
	require.ErrorIs(t, err, authcube.ErrInvalidCredentials)
	_, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Email: "marvin@example.org", Password: "my new password"})
	require.NoError(t, err)

	last, ok := env.Mailbox.Last()
	require.True(t, ok)
	assert.Equal(t, authcube.MessagePasswordChanged, last.Kind)
	assert.Equal(t, "Marvin@example.org", last.To)
	kinds := events.kinds()
	assert.Contains(t, kinds, authcube.PasswordResetRequested)
	assert.Contains(t, kinds, authcube.PasswordReset)

	// The token is used up.
	err = env.Engine.ConfirmPasswordReset(ctx, m.Token, "another new password")
	requireCode(t, err, authcube.ErrInvalid, "reset_token")
}

func TestPasswordResetForUnknownAddressSendsNothing(t *testing.T) {
	t.Parallel()
	env, app, _ := resetEnv(t)
	err := env.Engine.ResetPassword(ctx, app.Token, "nobody@example.org")
	require.NoError(t, err, "the same answer as for a known address")
	assert.Empty(t, env.Mailbox.Messages(), "and no mail")

	err = env.Engine.ResetPassword(ctx, app.Token, "not an address")
	requireCode(t, err, authcube.ErrInvalid, "email")
	err = env.Engine.ResetPassword(ctx, app.Token, "a@example.org\r\nBcc: b@example.org")
	requireCode(t, err, authcube.ErrInvalid, "email")
	err = env.Engine.ResetPassword(ctx, "bad token", "marvin@example.org")
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

func TestPasswordResetTokensThatFail(t *testing.T) {
	t.Parallel()
	request := func(t *testing.T, env *authtest.Env, app authcube.Session) string {
		require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "marvin@example.org"))
		tok := env.Mailbox.LastResetToken()
		require.NotEmpty(t, tok)
		return tok
	}
	t.Run("expired", func(t *testing.T) {
		env, app, _ := resetEnv(t)
		tok := request(t, env, app)
		env.Clock.Advance(time.Hour)
		requireCode(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"), authcube.ErrInvalid, "reset_token")
	})
	t.Run("alive until the last millisecond", func(t *testing.T) {
		env, app, _ := resetEnv(t)
		tok := request(t, env, app)
		env.Clock.Advance(time.Hour - time.Millisecond)
		require.NoError(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"))
	})
	t.Run("superseded", func(t *testing.T) {
		env, app, _ := resetEnv(t)
		first := request(t, env, app)
		second := request(t, env, app)
		requireCode(t, env.Engine.ConfirmPasswordReset(ctx, first, "my new password"), authcube.ErrInvalid, "reset_token")
		require.NoError(t, env.Engine.ConfirmPasswordReset(ctx, second, "my new password"))
	})
	t.Run("issued before an email change", func(t *testing.T) {
		env, app, sessions := resetEnv(t)
		tok := request(t, env, app)
		_, err := env.Engine.UpdateUser(ctx, sessions[0].Token, authcube.UserUpdate{Email: new("new@example.org")})
		require.NoError(t, err)
		requireCode(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"), authcube.ErrInvalid, "reset_token")
		// The old address hears of the change.
		last, _ := env.Mailbox.Last()
		assert.Equal(t, authcube.MessageEmailChanged, last.Kind)
		assert.Equal(t, "Marvin@example.org", last.To)
	})
	t.Run("issued before a password change", func(t *testing.T) {
		env, app, sessions := resetEnv(t)
		tok := request(t, env, app)
		_, err := env.Engine.UpdateUser(ctx, sessions[0].Token, authcube.UserUpdate{Password: new("changed meanwhile"), OldPassword: authtest.Password})
		require.NoError(t, err)
		requireCode(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"), authcube.ErrInvalid, "reset_token")
	})
	t.Run("malformed", func(t *testing.T) {
		env, _, _ := resetEnv(t)
		for _, tok := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("*", 43)} {
			requireCode(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"), authcube.ErrInvalid, "reset_token")
		}
	})
	t.Run("weak password keeps the token", func(t *testing.T) {
		env, app, _ := resetEnv(t)
		tok := request(t, env, app)
		for _, p := range []string{"short", "password1234", "marvin18", strings.Repeat("x", 1<<20)} {
			requireCode(t, env.Engine.ConfirmPasswordReset(ctx, tok, p), authcube.ErrInvalid, "password")
		}
		require.NoError(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"))
	})
}

// S19: of two confirmations of one token, exactly one succeeds. The interleaving is forced:
// the second confirmation runs whole after the first has checked the token and hashed its
// password, just before the first consumes the token.
func TestConcurrentResetConfirmations(t *testing.T) {
	t.Parallel()
	env, app, _ := resetEnv(t, authtest.WithConfig(func(c *authcube.Config) { c.Throttle.Free = 100 }))
	require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "marvin@example.org"))
	tok := env.Mailbox.LastResetToken()
	var second error
	happened := onceBefore(env.Engine, "ConsumeResetToken", func() {
		second = env.Engine.ConfirmPasswordReset(ctx, tok, "the second new password")
	})
	first := env.Engine.ConfirmPasswordReset(ctx, tok, "the first new password")
	require.True(t, happened(), "the interleaving happened")
	require.NoError(t, second, "the confirmation that consumed the token first wins")
	requireCode(t, first, authcube.ErrInvalid, "reset_token")

	_, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "the first new password"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "the second new password"})
	require.NoError(t, err, "the winner's password holds")
}

func TestPasswordResetRequestsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	env, app, _ := resetEnv(t)
	for range 5 {
		require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "marvin@example.org"))
	}
	err := env.Engine.ResetPassword(ctx, app.Token, "Marvin@Example.org")
	requireCode(t, err, authcube.ErrThrottled, "")
	require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "other@example.org"), "another address is not")
	err = env.Engine.ResetPassword(ctx, app.Token, "nobody@example.org")
	require.NoError(t, err)
}

// The default Mailer writes .eml files to Dir/outbox, readable only by the owner, pruned after
// ResetTTL.
func TestOutboxMailer(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.ResetURL = "https://app.example/r/{token}" })
	app := te.appSession(t)
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Email: "ann@example.org", Password: testPassword})
	require.NoError(t, err)
	require.NoError(t, te.ResetPassword(ctx, app.Token, "ann@example.org"))
	require.NoError(t, te.FlushMail(ctx))

	dir := filepath.Join(te.cfg.Dir, "outbox")
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	info, err = os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	body, err := os.ReadFile(files[0])
	require.NoError(t, err)
	text := string(body)
	assert.Contains(t, text, "To: ann@example.org\r\n")
	assert.Contains(t, text, "From: authcube@localhost\r\n")
	assert.Contains(t, text, "Subject: Reset your password\r\n")
	assert.Contains(t, text, "Content-Type: text/plain; charset=utf-8\r\n")
	assert.Contains(t, text, "https://app.example/r/")

	te.clock.Advance(time.Hour + time.Second)
	require.NoError(t, authcube.Sweep(te.Engine))
	files, err = filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	assert.Empty(t, files, "pruned after ResetTTL")
}

func TestRFC5322RefusesHeaderInjection(t *testing.T) {
	t.Parallel()
	for name, m := range map[string]authcube.Message{
		"crlf in to":     {From: "a@example.org", To: "b@example.org\r\nBcc: c@example.org"},
		"list":           {From: "a@example.org", To: "b@example.org, c@example.org"},
		"display name":   {From: "a@example.org", To: "Bob <b@example.org>"},
		"crlf in subj":   {From: "a@example.org", To: "b@example.org", Subject: "hi\r\nBcc: c@example.org"},
		"bad from":       {From: "nobody", To: "b@example.org"},
		"semicolon list": {From: "a@example.org", To: "b@example.org;c@example.org"},
	} {
		_, err := m.RFC5322(time.Now(), "id@x")
		assert.Error(t, err, name)
	}
	b, err := authcube.Message{From: "a@example.org", To: "b@example.org", Subject: "Grüße", Text: "line one\nline two"}.RFC5322(time.Unix(0, 0).UTC(), "id@x")
	require.NoError(t, err)
	assert.Contains(t, string(b), "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n")
	assert.Contains(t, string(b), "line one\r\nline two")
}

// S36: a client trying many reset tokens is throttled by its address when the context carries
// it (WithClientAddr, as httpauth's Middleware sets it); another address is not slowed, and an
// address that does not parse gives no client budget.
func TestResetConfirmationsAreThrottledPerClient(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) { c.ClientThrottle.Free = 2 }))
	token := func() string { // well-formed, unknown
		s, err := env.Engine.CreateSession(ctx)
		require.NoError(t, err)
		return s.Token
	}
	attacker := authcube.WithClientAddr(ctx, "203.0.113.9:4711")
	for range 2 {
		requireCode(t, env.Engine.ConfirmPasswordReset(attacker, token(), "a good new password"), authcube.ErrInvalid, "reset_token")
	}
	requireCode(t, env.Engine.ConfirmPasswordReset(attacker, token(), "a good new password"), authcube.ErrThrottled, "")
	other := authcube.WithClientAddr(ctx, "198.51.100.7")
	requireCode(t, env.Engine.ConfirmPasswordReset(other, token(), "a good new password"), authcube.ErrInvalid, "reset_token")
	for _, c := range []context.Context{ctx, authcube.WithClientAddr(ctx, "not an address")} {
		for range 3 {
			requireCode(t, env.Engine.ConfirmPasswordReset(c, token(), "a good new password"), authcube.ErrInvalid, "reset_token")
		}
	}
}

package authcube_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
)

// S28: security events go to OnEvent and to slog, never with secrets.

// logCapture is a slog handler that renders every record, with all its attributes, through the
// JSON handler into a buffer, at Debug level and above.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) handler() slog.Handler {
	return slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})
}

func (c *logCapture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// records parses the captured JSON lines.
func (c *logCapture) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(c.text()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "a JSON record: %s", sc.Text())
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// s28Secrets collects every secret a test handles: passwords, tokens, reset tokens.
type s28Secrets struct {
	list []string
}

func (s *s28Secrets) add(t *testing.T, secrets ...string) {
	t.Helper()
	for _, v := range secrets {
		require.NotEmpty(t, v, "a secret to look for")
		s.list = append(s.list, v)
	}
}

// token adds a session or reset token and the forms of its hash.
func (s *s28Secrets) token(t *testing.T, tok string) {
	t.Helper()
	s.add(t, tok)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err, "a token: %q", tok)
	h := sha256.Sum256(raw)
	s.add(t, hex.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]))
}

func TestLogsS28NoSecretsAndEverySecurityEvent(t *testing.T) {
	t.Parallel()
	const (
		pw1      = "s28 first password of ann"
		pw2      = "s28 second password of ann"
		pw3      = "s28 third password after reset"
		pwWrong  = "s28 wrong guess for ann"
		pwOld    = "s28 wrong old password"
		pwCommon = "password1234" // refused as too common
		pwExt    = "s28 external provider secret"
		pwExtBad = "s28 external wrong secret"
		// pwExtLeak makes the custom provider fail with an error that quotes it.
		pwExtLeak = "s28 leak: external secret quoted by a failing provider"
	)
	var secrets s28Secrets
	secrets.add(t, pw1, pw2, pw3, pwWrong, pwOld, pwCommon, pwExt, pwExtBad, pwExtLeak)
	// Every error a call returns is printed as a program would log it, causes and all (Error()
	// shows the cause), and searched for secrets too.
	var errText strings.Builder
	keep := func(err error) error {
		if err != nil {
			fmt.Fprintf(&errText, "%v %+v %#v %s\n", err, err, err, err)
			printChain(&errText, err)
		}
		return err
	}

	capture := &logCapture{}
	rec := &events{}
	idp := &leakyIdP{}
	idp.add("bigbird", pwExt, identity.Profile{Subject: "ext-1", Login: "bigbird", Email: "bird@example.org", FullName: "Big Bird"})
	issuer := firebasetest.NewIssuer("demo-project")
	otherProject := firebasetest.NewIssuer("other-project")
	clock := newClock()
	issuer.Now, otherProject.Now = clock.Now, clock.Now
	env := authtest.New(t, authtest.WithClock(clock), authtest.WithConfig(func(c *authcube.Config) {
		c.Logger = slog.New(capture.handler())
		c.OnEvent = rec.add
		c.Throttle = authcube.ThrottleParams{Free: 2}
		c.Identity = idp
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier(), "leaky": leakyVerifier{}}
		c.ResetURL = "https://app.example/reset?token={token}"
	}))
	e := func() *authcube.Engine { return env.Engine }
	newSession := func() authcube.Session {
		t.Helper()
		s, err := e().CreateSession(ctx)
		require.NoError(t, err)
		secrets.token(t, s.Token)
		return s
	}
	userSession := func(c authcube.Credentials) authcube.Session {
		t.Helper()
		s, err := e().CreateUserSession(ctx, c)
		require.NoError(t, err)
		secrets.token(t, s.Token)
		return s
	}

	// Sign-up, and a sign-up refused for its password.
	app := newSession()
	_, err := e().SignUp(ctx, app.Token, authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: pw1, FullName: "Ann Example", Tags: []string{"s28"}})
	require.NoError(t, err)
	_, err = e().SignUp(ctx, app.Token, authcube.NewUser{Login: "eve", Password: pwCommon})
	requireCode(t, keep(err), authcube.ErrInvalid, "password")

	// Sign-in failure and success; session details.
	_, err = e().SignIn(ctx, app.Token, authcube.Credentials{Login: "ann", Password: pwWrong})
	requireCode(t, keep(err), authcube.ErrInvalidCredentials, "")
	_, err = e().SignIn(ctx, app.Token, authcube.Credentials{Login: "ann", Password: pw1})
	require.NoError(t, err)
	_, err = e().Session(ctx, app.Token)
	require.NoError(t, err)
	_, err = e().Sessions(ctx, app.Token)
	require.NoError(t, err)

	// Throttled sign-in (Free: 2), on an unknown login.
	for i := 0; ; i++ {
		guess := fmt.Sprintf("s28 guess number %d for carl", i)
		secrets.add(t, guess)
		_, err = e().SignIn(ctx, app.Token, authcube.Credentials{Login: "carl", Password: guess})
		if errors.Is(keep(err), authcube.ErrThrottled) {
			break
		}
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		require.Less(t, i, 10, "never throttled")
	}

	// Revoke another session, destroy one, sign out and in again.
	other := userSession(authcube.Credentials{Email: "ann@example.org", Password: pw1})
	require.NoError(t, e().RevokeSession(ctx, app.Token, other.ID))
	doomed := userSession(authcube.Credentials{Login: "ann", Password: pw1})
	require.NoError(t, e().DestroySession(ctx, doomed.Token))

	// Password change: a wrong old password, then the right one.
	_, err = e().UpdateUser(ctx, app.Token, authcube.UserUpdate{Password: new(pw2), OldPassword: pwOld})
	requireCode(t, keep(err), authcube.ErrInvalidCredentials, "old_password")
	_, err = e().UpdateUser(ctx, app.Token, authcube.UserUpdate{Password: new(pw2), OldPassword: pw1})
	require.NoError(t, err)
	require.NoError(t, e().SignOut(ctx, app.Token))
	_, err = e().SignIn(ctx, app.Token, authcube.Credentials{Email: "ann@example.org", Password: pw2})
	require.NoError(t, err)

	// Password reset: request, a bad token, the confirmation (which ends every session).
	require.NoError(t, e().ResetPassword(ctx, app.Token, "ann@example.org"))
	resetToken := env.Mailbox.LastResetToken()
	secrets.token(t, resetToken)
	err = e().ConfirmPasswordReset(ctx, strings.Repeat("A", 43), pw3)
	requireCode(t, keep(err), authcube.ErrInvalid, "reset_token")
	require.NoError(t, e().ConfirmPasswordReset(ctx, resetToken, pw3))

	// Email change, file upload.
	us := userSession(authcube.Credentials{Login: "ann", Password: pw3})
	_, err = e().UpdateUser(ctx, us.Token, authcube.UserUpdate{Email: new("ann.new@example.org")})
	require.NoError(t, err)
	_, err = e().UploadFile(ctx, us.Token, authcube.NewFile{Name: "notes.txt"}, strings.NewReader("some notes"))
	require.NoError(t, err)

	// Phone sign-in, custom provider sign-in (failure and success).
	phoneApp := newSession()
	idToken := issuer.PhoneToken("uid-1", "+447911123456")
	secrets.add(t, idToken, strings.Split(idToken, ".")[2])
	_, err = e().SignIn(ctx, phoneApp.Token, authcube.Credentials{Provider: "firebase_phone", Token: idToken})
	require.NoError(t, err)
	// Failing provider tokens: one of another project, an expired one, one with a broken
	// signature, and one a verifier fails on and quotes in its error (an outage, not a refusal).
	expired := issuer.Claims("uid-2")
	expired["exp"] = env.Clock.Now().Add(-time.Hour).Unix()
	expired["iat"] = env.Clock.Now().Add(-2 * time.Hour).Unix()
	badSig := issuer.PhoneToken("uid-3", "+447911123457")
	badSig = badSig[:len(badSig)-4] + "AAAA"
	for _, bad := range []authcube.Credentials{
		{Provider: "firebase_phone", Token: otherProject.PhoneToken("uid-1", "+447911123456")},
		{Provider: "firebase_phone", Token: issuer.Token(expired)},
		{Provider: "firebase_phone", Token: badSig},
		{Provider: "leaky", Token: issuer.PhoneToken("uid-4", "+447911123458")},
	} {
		secrets.add(t, bad.Token)
		for _, part := range strings.Split(bad.Token, ".") {
			secrets.add(t, part)
		}
		_, err = e().SignIn(ctx, newSession().Token, bad)
		requireCode(t, keep(err), authcube.ErrInvalidCredentials, "")
	}
	extApp := newSession()
	_, err = e().SignIn(ctx, extApp.Token, authcube.Credentials{Login: "bigbird", Password: pwExtBad})
	requireCode(t, keep(err), authcube.ErrInvalidCredentials, "")
	_, err = e().SignIn(ctx, extApp.Token, authcube.Credentials{Login: "bigbird", Password: pwExt})
	require.NoError(t, err)
	_, err = e().SignIn(ctx, newSession().Token, authcube.Credentials{Login: "bigbird", Password: pwExtLeak})
	requireCode(t, keep(err), authcube.ErrInvalidCredentials, "")
	require.ErrorIs(t, err, context.DeadlineExceeded, "the cause still matches")

	// An expired session, found as such.
	env.Clock.Advance(authcube.DefaultSessionIdleTTL)
	_, err = e().Session(ctx, us.Token)
	requireCode(t, keep(err), authcube.ErrUnauthorized, "")

	// Restart, then delete the user.
	env.Restart(t)
	last := userSession(authcube.Credentials{Login: "ann", Password: pw3})
	_, err = e().Session(ctx, last.Token)
	require.NoError(t, err)
	require.NoError(t, e().DeleteUser(ctx, last.Token))
	require.NoError(t, e().Close())

	// No secret in the logs, nor in the events.
	logs := capture.text()
	require.NotEmpty(t, logs)
	var evText strings.Builder
	rec.mu.Lock()
	for _, ev := range rec.list {
		fmt.Fprintf(&evText, "%+v %#v %v\n", ev, ev, ev.Err)
		printChain(&evText, ev.Err)
	}
	rec.mu.Unlock()
	assert.Contains(t, errText.String(), "[REDACTED]", "the quoting provider errors were seen")
	for _, s := range secrets.list {
		assert.NotContains(t, logs, s, "a secret reached the logs")
		assert.NotContains(t, evText.String(), s, "a secret reached an event")
		assert.NotContains(t, errText.String(), s, "a secret reached an error")
	}
	assert.NotContains(t, logs, "argon2id$", "a PHC string reached the logs")
	assert.NotContains(t, evText.String(), "argon2id$", "a PHC string reached an event")

	// Every kind of event that occurred reached OnEvent, and was logged, the security events at
	// Info.
	seen := map[authcube.EventKind]int{}
	for _, k := range rec.kinds() {
		seen[k]++
	}
	for _, k := range []authcube.EventKind{
		authcube.SessionCreated, authcube.SignedIn, authcube.SignedOut, authcube.SignInFailed,
		authcube.SignInThrottled, authcube.SessionRevoked, authcube.SessionDestroyed,
		authcube.SessionExpired, authcube.UserCreated, authcube.UserUpdated, authcube.UserDeleted,
		authcube.PasswordChanged, authcube.PasswordResetRequested, authcube.PasswordReset,
	} {
		assert.NotZero(t, seen[k], "OnEvent got no %v", k)
	}
	logged := map[string]int{}
	infoLogged := map[string]int{}
	for _, r := range capture.records(t) {
		ev, _ := r["event"].(string)
		if ev == "" {
			continue
		}
		logged[ev]++
		if r["level"] == "INFO" {
			infoLogged[ev]++
		}
	}
	for k, n := range seen {
		assert.Equal(t, n, logged[k.String()], "every %v event is logged once", k)
	}
	for _, k := range []authcube.EventKind{
		authcube.SignedIn, authcube.SignInFailed, authcube.SignInThrottled, authcube.SessionRevoked,
		authcube.UserDeleted, authcube.PasswordChanged, authcube.PasswordResetRequested, authcube.PasswordReset,
	} {
		assert.Equal(t, seen[k], infoLogged[k.String()], "every %v event is logged at Info", k)
	}
}

// leakyIdP is a custom identity provider that, for a password starting "s28 leak", fails as
// a careless one would: with an error that quotes the login and password (S28).
type leakyIdP struct{ fakeIdP }

func (p *leakyIdP) VerifyPassword(ctx context.Context, login, password string) (identity.Profile, error) {
	if strings.HasPrefix(password, "s28 leak") {
		return identity.Profile{}, fmt.Errorf("idp timed out checking %s/%s: %w", login, password, context.DeadlineExceeded)
	}
	return p.fakeIdP.VerifyPassword(ctx, login, password)
}

// leakyVerifier fails every token as a careless verifier would: with an error that quotes the
// token, escaped as in a URL, and its signature (S28).
type leakyVerifier struct{}

func (leakyVerifier) VerifyToken(_ context.Context, token string) (identity.Claims, error) {
	parts := strings.Split(token, ".")
	return identity.Claims{}, fmt.Errorf("cannot reach https://verify.example/?t=%s (token %q, signature %s)",
		url.QueryEscape(token), token, parts[len(parts)-1])
}

// S28: the events of a wrong old password (S7: it counts as a failed sign-in) name the login or
// the email, as every other sign-in failure does, so that logs and alerts can tell who it was.
func TestLogsS28OldPasswordFailureNamesLoginOrEmail(t *testing.T) {
	t.Parallel()
	rec := &events{}
	env := authtest.New(t,
		authtest.WithConfig(func(c *authcube.Config) {
			c.OnEvent = rec.add
			c.Throttle = authcube.ThrottleParams{Free: 1}
		}),
		authtest.WithUsers(authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: authtest.Password}),
	)
	_, s := env.SignedIn(t, "ann")
	_, err := env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password for ann"), OldPassword: "not the old one"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "old_password")
	_, err = env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password for ann"), OldPassword: "not the old one"})
	require.ErrorIs(t, err, authcube.ErrThrottled)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	found := 0
	for _, ev := range rec.list {
		if ev.Kind == authcube.SignInFailed || ev.Kind == authcube.SignInThrottled {
			found++
			assert.Contains(t, []string{"ann", "ann@example.org"}, ev.Login, "%v names the login or the email", ev.Kind)
		}
	}
	assert.Equal(t, 2, found)
}

// leakyMailer fails every message as a careless Mailer would: with an error that quotes it.
type leakyMailer struct {
	mu     sync.Mutex
	tokens []string
}

func (m *leakyMailer) Send(_ context.Context, msg authcube.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens = append(m.tokens, msg.Token)
	return fmt.Errorf("mail server said no to %q (link %s)", msg.Text, msg.Link)
}

// S28: a Mailer's error that quotes the reset mail reaches the log without the reset token.
func TestLogsS28FailingMailerLeaksNoResetToken(t *testing.T) {
	t.Parallel()
	capture := &logCapture{}
	mailer := &leakyMailer{}
	env := authtest.New(t,
		authtest.WithConfig(func(c *authcube.Config) {
			c.Logger = slog.New(capture.handler())
			c.Mailer = mailer
			c.ResetURL = "https://app.example/reset?token={token}"
		}),
		authtest.WithUsers(authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: authtest.Password}))
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "ann@example.org"))
	require.NoError(t, env.Engine.Close()) // the queued mail is sent, and fails, first

	mailer.mu.Lock()
	defer mailer.mu.Unlock()
	require.Len(t, mailer.tokens, 1)
	logs := capture.text()
	assert.Contains(t, logs, "mail server said no", "the failure is logged")
	assert.NotContains(t, logs, mailer.tokens[0], "the reset token reached the log")
}

// printChain prints every error err wraps (errors.Unwrap, single or multiple), each with %v and
// %+v: a program may walk the chain and log each cause, so no cause may hold a secret either.
func printChain(w io.Writer, err error) {
	for err != nil {
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				fmt.Fprintf(w, "%v %+v\n", e, e)
				printChain(w, e)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
			if err != nil {
				fmt.Fprintf(w, "%v %+v\n", err, err)
			}
		default:
			return
		}
	}
}

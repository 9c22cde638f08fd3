package authcube_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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
	)
	var secrets s28Secrets
	secrets.add(t, pw1, pw2, pw3, pwWrong, pwOld, pwCommon, pwExt, pwExtBad)

	capture := &logCapture{}
	rec := &events{}
	idp := &fakeIdP{}
	idp.add("bigbird", pwExt, identity.Profile{Subject: "ext-1", Login: "bigbird", Email: "bird@example.org", FullName: "Big Bird"})
	issuer := firebasetest.NewIssuer("demo-project")
	var env *authtest.Env
	issuer.Now = func() time.Time { return env.Clock.Now() }
	env = authtest.New(t, authtest.WithConfig(func(c *authcube.Config) {
		c.Logger = slog.New(capture.handler())
		c.OnEvent = rec.add
		c.Throttle = authcube.ThrottleParams{Free: 2}
		c.Identity = idp
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier()}
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
	requireCode(t, err, authcube.ErrInvalid, "password")

	// Sign-in failure and success; session details.
	_, err = e().SignIn(ctx, app.Token, authcube.Credentials{Login: "ann", Password: pwWrong})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
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
		if errors.Is(err, authcube.ErrThrottled) {
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
	requireCode(t, err, authcube.ErrInvalidCredentials, "old_password")
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
	requireCode(t, err, authcube.ErrInvalid, "reset_token")
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
	extApp := newSession()
	_, err = e().SignIn(ctx, extApp.Token, authcube.Credentials{Login: "bigbird", Password: pwExtBad})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = e().SignIn(ctx, extApp.Token, authcube.Credentials{Login: "bigbird", Password: pwExt})
	require.NoError(t, err)

	// An expired session, found as such.
	env.Clock.Advance(authcube.DefaultSessionIdleTTL)
	_, err = e().Session(ctx, us.Token)
	requireCode(t, err, authcube.ErrUnauthorized, "")

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
	}
	rec.mu.Unlock()
	for _, s := range secrets.list {
		assert.NotContains(t, logs, s, "a secret reached the logs")
		assert.NotContains(t, evText.String(), s, "a secret reached an event")
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

package authcube_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
)

// unthrottled lets a test fail sign-ins as often as it likes.
func unthrottled(c *authcube.Config) { c.Throttle.Free = 1 << 20 }

// countingVerifier is a provider token verifier that counts its calls and asks inner, or
// rejects every token when inner is nil.
type countingVerifier struct {
	inner identity.TokenVerifier
	calls atomic.Int64
}

func (v *countingVerifier) VerifyToken(ctx context.Context, token string) (identity.Claims, error) {
	v.calls.Add(1)
	if v.inner == nil {
		return identity.Claims{}, identity.ErrRejected
	}
	return v.inner.VerifyToken(ctx, token)
}

// S1: a provider token, or a password for the custom identity provider, longer than 8 KiB is
// refused without calling the verifier; 8 KiB itself reaches it.
func TestProviderSecretsOverTheCapNeverReachTheVerifier(t *testing.T) {
	t.Parallel()
	tokens := &countingVerifier{}
	idp := &fakeIdP{}
	te := newTestEngine(t, unthrottled, func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"acme": tokens}
		c.Identity = idp
	})
	app := te.appSession(t)
	const capBytes = 8 << 10

	for _, n := range []int{capBytes + 1, 1 << 20} {
		_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "acme", Token: strings.Repeat("t", n)})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: strings.Repeat("p", n)})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	assert.Zero(t, tokens.calls.Load(), "a token over 8 KiB never reaches the verifier")
	assert.Zero(t, idp.calls.Load(), "a password over 8 KiB never reaches the identity provider")

	_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "acme", Token: strings.Repeat("t", capBytes)})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = te.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: strings.Repeat("p", capBytes)})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	assert.Equal(t, int64(1), tokens.calls.Load(), "8 KiB is allowed")
	assert.Equal(t, int64(1), idp.calls.Load(), "8 KiB is allowed")
}

// S2: passwords are neither trimmed nor truncated: white space around a password matters, and
// passwords that differ only after byte 72 (where bcrypt would cut) are different passwords.
func TestPasswordsAreNeitherTrimmedNorTruncated(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, unthrottled)
	app := te.appSession(t)
	long := strings.Repeat("ab", 36) // 72 bytes
	for login, p := range map[string]string{"spaced": "  spaced password  ", "long1": long + "first", "long2": long + "ωmega"} {
		_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: login, Password: p})
		require.NoError(t, err)
	}
	for name, c := range map[string]authcube.Credentials{
		"trimmed":          {Login: "spaced", Password: "spaced password"},
		"trailing only":    {Login: "spaced", Password: "  spaced password"},
		"leading only":     {Login: "spaced", Password: "spaced password  "},
		"one more space":   {Login: "spaced", Password: "  spaced password   "},
		"trailing space":   {Login: "marvin18", Password: testPassword + " "},
		"leading space":    {Login: "marvin18", Password: " " + testPassword},
		"after byte 72":    {Login: "long1", Password: long + "other"},
		"first 72 bytes":   {Login: "long1", Password: long},
		"multibyte at 72":  {Login: "long2", Password: long + "ωmegb"},
		"longer than kept": {Login: "long1", Password: long + "firstx"},
	} {
		if c.Login == "marvin18" {
			te.signUpOnce(t, "marvin18")
		}
		_, err := te.SignIn(ctx, app.Token, c)
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		_ = name
	}
	for login, p := range map[string]string{"spaced": "  spaced password  ", "long1": long + "first", "long2": long + "ωmega", "marvin18": testPassword} {
		_, err := te.CreateUserSession(ctx, authcube.Credentials{Login: login, Password: p})
		require.NoError(t, err, "%s with its own password", login)
	}
}

// signUpOnce signs login up unless it exists.
func (te *testEngine) signUpOnce(t testing.TB, login string) {
	t.Helper()
	if _, err := te.CreateUserSession(ctx, authcube.Credentials{Login: login, Password: testPassword}); err != nil {
		te.signUp(t, login)
	}
}

// S3: common passwords are refused whatever their case, and the user's own email is refused
// as a new password on sign-up, change and reset alike, and by the admin's create and update.
func TestPasswordRulesOnEveryWayToSetOne(t *testing.T) {
	t.Parallel()
	mb := &authtest.Mailbox{}
	te := newTestEngine(t, func(c *authcube.Config) { c.Mailer = mb })
	app := te.appSession(t)
	for _, p := range []string{"PASSWORD1234", "Password1234", "pAsSwOrD1234"} {
		_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "ann1", Password: p})
		requireCode(t, err, authcube.ErrInvalid, "password")
	}
	_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "ann1", Email: "Ann.Smith@Example.org", Password: "ann.smith@example.org"})
	requireCode(t, err, authcube.ErrInvalid, "password")

	u, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: "ann1", Email: "Ann.Smith@Example.org", Password: testPassword})
	require.NoError(t, err)
	s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "ann1", Password: testPassword})
	require.NoError(t, err)
	for _, p := range []string{"Ann.Smith@Example.org", "ann.smith@example.org", "ANN.SMITH@EXAMPLE.ORG", "PassWord1234", "ANN1"} {
		_, err := te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new(p), OldPassword: testPassword})
		requireCode(t, err, authcube.ErrInvalid, "password")
	}

	require.NoError(t, te.ResetPassword(ctx, app.Token, u.Email))
	require.NoError(t, te.FlushMail(ctx))
	tok := mb.LastResetToken()
	require.NotEmpty(t, tok)
	for _, p := range []string{"Ann.Smith@Example.org", "ann.smith@example.org", "PassWord1234", "Ann1"} {
		requireCode(t, te.ConfirmPasswordReset(ctx, tok, p), authcube.ErrInvalid, "password")
	}
	require.NoError(t, te.ConfirmPasswordReset(ctx, tok, "a fine new password"), "the token survived the refusals")

	// The admin's ways too: creating a user and setting a user's password.
	a := te.Admin()
	for _, p := range []string{"Bob.Jones@Example.org", "BOB2", "PassWord1234"} {
		_, err := a.CreateUser(ctx, authcube.NewUser{Login: "bob2", Email: "bob.jones@example.org", Password: p})
		requireCode(t, err, authcube.ErrInvalid, "password")
	}
	for _, p := range []string{"Ann.Smith@Example.org", "ann.smith@example.org", "PassWord1234", "Ann1"} {
		_, err := a.UpdateUser(ctx, u.ID, authcube.UserUpdate{Password: new(p)})
		requireCode(t, err, authcube.ErrInvalid, "password")
	}
	_, err = a.UpdateUser(ctx, u.ID, authcube.UserUpdate{Email: new("ann.new@example.org"), Password: new("Ann.New@Example.org")})
	requireCode(t, err, authcube.ErrInvalid, "password") // the email it is given in the same update
}

// S4: hashing weaker than the defaults is logged as a warning at Open; the defaults are not.
func TestWeakerHashingIsLoggedAtOpen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		params authcube.HashParams
		warned bool
	}{
		{authcube.HashParams{}, false},
		{authcube.DefaultHashParams, false},
		{authcube.HashParams{MemoryKiB: 64 << 10, Iterations: 3, Parallelism: 1}, false},
		{cheapHashing, true},
		{authcube.HashParams{MemoryKiB: 19455, Iterations: 2, Parallelism: 1}, true},
		{authcube.HashParams{MemoryKiB: 64 << 10, Iterations: 1, Parallelism: 1}, true},
	} {
		var buf bytes.Buffer
		te := newTestEngine(t, func(c *authcube.Config) {
			c.Hashing = tc.params
			c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		})
		require.NoError(t, te.Close())
		warned := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), "weaker than the defaults")
		assert.Equal(t, tc.warned, warned, "%+v: %s", tc.params, buf.String())
	}
}

// S5: a stored hash claiming parameters over the ceilings is refused without running argon2:
// the sign-in fails like a wrong password.
func TestAbsurdStoredHashIsRefusedBeforeHashing(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, unthrottled)
	te.signUp(t, "marvin18")
	real := storedHash(t, te, "marvin18")
	parts := strings.Split(real, "$") // "", argon2id, v=19, params, salt, key
	require.Len(t, parts, 6)
	// Each is cheap to compute, should the ceiling be gone; the store must refuse them anyway.
	for _, params := range []string{"m=64,t=65,p=1", "m=160,t=1,p=17", "m=64,t=0,p=1"} {
		require.NoError(t, te.Close())
		parts[3] = params
		setStoredHash(t, te, "marvin18", strings.Join(parts, "$"))
		te.open(t)
		verifies := authcube.VerifyCount(te.Engine)
		_, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		assert.Equal(t, verifies, authcube.VerifyCount(te.Engine), "%s: refused before argon2", params)
	}
}

// setStoredHash writes a user's password hash while no engine holds the directory.
func setStoredHash(t *testing.T, te *testEngine, login, hash string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(te.cfg.Dir, "authcube.db"))
	require.NoError(t, err)
	defer db.Close()
	res, err := db.Exec(`UPDATE users SET password_hash = ? WHERE login_canon = ?`, hash, login)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, fmt.Sprintf("user %s", login))
}

// S6: sign-up, password change and password reset hash behind the same bounded slots as
// sign-in, so a burst of any of them holds a bounded heap (2 × slots × m of argon2 memory, and the
// buffers freed but not yet collected). Not parallel: it measures the process's heap.
func TestPasswordSettingBurstHeapIsBounded(t *testing.T) {
	const slots, memKiB, n = 2, 8192, 100
	bound := uint64(4*slots*memKiB<<10 + 32<<20) // twice the sign-in test's margin: the GC lags
	newEngine := func(t *testing.T, mb *authtest.Mailbox) *testEngine {
		return newTestEngine(t, unthrottled, func(c *authcube.Config) {
			c.Rand = nil
			c.HashConcurrency = slots
			c.Hashing = authcube.HashParams{MemoryKiB: memKiB, Iterations: 1, Parallelism: 1}
			if mb != nil {
				c.Mailer = mb
			}
		})
	}
	burst := func(t *testing.T, f func(i int) error) {
		t.Helper()
		peak := heapPeak(func() {
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if err := f(i); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
		})
		t.Logf("peak heap above baseline: %d MiB (bound %d MiB; unbounded would be %d MiB)", peak>>20, bound>>20, n*memKiB>>10)
		assert.LessOrEqual(t, peak, bound)
		require.Positive(t, peak)
	}
	t.Run("sign-up", func(t *testing.T) {
		te := newEngine(t, nil)
		app := te.appSession(t)
		burst(t, func(i int) error {
			_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: fmt.Sprintf("user%d", i), Password: testPassword})
			return err
		})
	})
	t.Run("password change", func(t *testing.T) {
		te := newEngine(t, nil)
		// The old passwords are cheap to verify, so that the new hashes would pile up unbounded.
		require.NoError(t, te.Close())
		te.cfg.Hashing = cheapHashing
		te.open(t)
		sessions := make([]authcube.Session, n)
		for i := range n {
			_, sessions[i] = te.signedIn(t, fmt.Sprintf("user%d", i))
		}
		require.NoError(t, te.Close())
		te.cfg.Hashing = authcube.HashParams{MemoryKiB: memKiB, Iterations: 1, Parallelism: 1}
		te.open(t)
		burst(t, func(i int) error {
			_, err := te.UpdateUser(ctx, sessions[i].Token, authcube.UserUpdate{Password: new("a brand new password"), OldPassword: testPassword})
			return err
		})
	})
	t.Run("password reset", func(t *testing.T) {
		mb := &authtest.Mailbox{}
		te := newEngine(t, mb)
		require.NoError(t, te.Close())
		te.cfg.Hashing = cheapHashing // a quick set-up
		te.open(t)
		app := te.appSession(t)
		tokens := make([]string, n)
		for i := range n {
			email := fmt.Sprintf("user%d@example.org", i)
			_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Email: email, Password: testPassword})
			require.NoError(t, err)
			require.NoError(t, te.ResetPassword(ctx, app.Token, email))
			require.NoError(t, te.FlushMail(ctx))
			tokens[i] = mb.LastResetToken()
		}
		require.NoError(t, te.Close())
		te.cfg.Hashing = authcube.HashParams{MemoryKiB: memKiB, Iterations: 1, Parallelism: 1}
		te.open(t)
		burst(t, func(i int) error { return te.ConfirmPasswordReset(ctx, tokens[i], "a brand new password") })
	})
}

package authcube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

// keySpy is a storetest.Hooked that also records the longest throttle key the store is given.
type keySpy struct {
	*storetest.Hooked
	mu      sync.Mutex
	longest int
}

func (s *keySpy) saw(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.longest = max(s.longest, len(key))
}

func (s *keySpy) Throttle(ctx context.Context, key string) (int, time.Time, error) {
	s.saw(key)
	return s.Hooked.Throttle(ctx, key)
}

func (s *keySpy) SetThrottle(ctx context.Context, key string, failures int, until time.Time) error {
	s.saw(key)
	return s.Hooked.SetThrottle(ctx, key, failures, until)
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// dirSize is the total size of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return err
	}))
	return n
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// S30: 20 sign-ins with a 900 KB login (and as many with a 900 KB email, and with logins just
// inside the input bound but invalid) grow neither the directory, the heap nor the log, and the
// store never sees a throttle key longer than a SHA-256 digest in hex.
func TestOversizedLoginsCostNothing(t *testing.T) {
	var logs lockedBuffer
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Throttle.Free = 1000 // every attempt reaches the store and the log
		c.ClientThrottle.Free = 1000
	}))
	spy := &keySpy{Hooked: &storetest.Hooked{Before: func(string) error { return nil }}}
	authcube.WrapStore(env.Engine, func(s store.Store) store.Store { spy.Hooked.Inner = s; return spy })
	require.NoError(t, authcube.Sweep(env.Engine)) // settle the WAL and the outbox before measuring
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)

	huge := strings.Repeat("ａ", 300<<10) // 900 KB: fullwidth letters fold to ASCII
	near := strings.Repeat("a", 1020)    // within the input bound, too long to be a login
	dir, heap, logged := dirSize(t, env.Dir), heapInUse(), logs.Len()
	for i := range 20 {
		for _, c := range []authcube.Credentials{
			{Login: huge + fmt.Sprint(i), Password: "wrong password", ClientAddr: "203.0.113.7"},
			{Email: huge + fmt.Sprint(i) + "@example.org", Password: "wrong password"},
			{Login: near + fmt.Sprint(i), Password: "wrong password"},
		} {
			_, err := env.Engine.SignIn(ctx, app.Token, c)
			require.Error(t, err)
			assert.NotErrorIs(t, err, authcube.ErrThrottled)
		}
	}
	require.NoError(t, authcube.Sweep(env.Engine))
	assert.Less(t, dirSize(t, env.Dir)-dir, int64(1<<20), "the directory does not grow with the input")
	assert.Less(t, int64(heapInUse())-int64(heap), int64(2<<20), "the heap does not keep the input")
	assert.Less(t, logs.Len()-logged, 20*800, "the log carries a bounded prefix at most")
	assert.Positive(t, spy.longest, "the near-bound logins were throttled")
	assert.LessOrEqual(t, spy.longest, 64, "throttle keys are SHA-256 digests")

	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: huge, Password: "x"})
	requireCode(t, err, authcube.ErrInvalid, "login")
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Email: huge, Password: "x"})
	requireCode(t, err, authcube.ErrInvalid, "email")
}

// S30: the in-memory throttle table is bounded; a key dropped from it keeps its state, which
// comes back from the store.
func TestThrottleTableIsBounded(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "marvin18", Password: authtest.Password}),
		authtest.WithConfig(func(c *authcube.Config) { c.Throttle = authcube.ThrottleParams{Free: 2} }))
	authcube.SetThrottleTableSize(env.Engine, 10)
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	for range 2 {
		_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "wrong password"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	for i := range 50 {
		_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: fmt.Sprintf("nobody%d", i), Password: "wrong password"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		assert.LessOrEqual(t, authcube.ThrottleKeys(env.Engine), 10)
	}
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: authtest.Password})
	requireCode(t, err, authcube.ErrThrottled, "") // the dropped key came back from the store
}

// S8 with a custom identity provider: every failure costs exactly one password verify,
// whether the login is local, the provider's, or unknown to both.
func TestProviderSignInFailuresCostOneVerify(t *testing.T) {
	t.Parallel()
	idp := &fakeIdP{}
	idp.add("bigbird", "external secret", identity.Profile{Subject: "ext-1", Login: "bigbird"})
	env := authtest.New(t,
		authtest.WithConfig(func(c *authcube.Config) { c.Identity = idp; c.Throttle.Free = 100 }),
		authtest.WithUsers(authcube.NewUser{Login: "elmo", Password: authtest.Password}),
	)
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: "external secret"})
	require.NoError(t, err) // bigbird is now a local user of the provider
	long := strings.Repeat("p", 1000)
	for name, c := range map[string]authcube.Credentials{
		"local, wrong password":            {Login: "elmo", Password: "wrong password"},
		"local, long wrong password":       {Login: "elmo", Password: long},
		"provider's, wrong password":       {Login: "bigbird", Password: "wrong password"},
		"unknown, refused by the provider": {Login: "nobody", Password: "wrong password"},
		"unknown, long password":           {Login: "nobody", Password: long},
	} {
		before := authcube.VerifyCount(env.Engine)
		_, err := env.Engine.SignIn(ctx, app.Token, c)
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
		assert.Equal(t, before+1, authcube.VerifyCount(env.Engine), "%s: exactly one verify (S8)", name)
	}
	idp.down.Store(true)
	before := authcube.VerifyCount(env.Engine)
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "nobody", Password: "wrong password"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	assert.Equal(t, before+1, authcube.VerifyCount(env.Engine), "provider down: exactly one verify (S8)")
}

// S35: a password equal to the login or email under the canonical comparison (width and case
// folded, NFKC) is refused on sign-up, change and reset.
func TestPasswordMayNotBeLoginOrEmailCanonically(t *testing.T) {
	t.Parallel()
	env, app, sessions := resetEnv(t) // marvin18 <Marvin@Example.org>
	sameAsEmail := []string{"ｍａｒｖｉｎ＠ｅｘａｍｐｌｅ．ｏｒｇ", "MARVIN@EXAMPLE.ORG", "ＭＡＲＶＩＮ１８"}

	for _, p := range []string{"Ｏｓｃａｒ＠Ｅｘａｍｐｌｅ．ｏｒｇ", "ｏｓｃａｒ２０ｏｓｃａｒ", "OSCAR20OSCAR"} {
		_, err := env.Engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "oscar20oscar", Email: "oscar@example.org", Password: p})
		requireCode(t, err, authcube.ErrInvalid, "password")
	}
	for _, p := range sameAsEmail {
		_, err := env.Engine.UpdateUser(ctx, sessions[0].Token, authcube.UserUpdate{Password: new(p), OldPassword: authtest.Password})
		requireCode(t, err, authcube.ErrInvalid, "password")
	}
	require.NoError(t, env.Engine.ResetPassword(ctx, app.Token, "marvin@example.org"))
	tok := env.Mailbox.LastResetToken()
	for _, p := range sameAsEmail {
		requireCode(t, env.Engine.ConfirmPasswordReset(ctx, tok, p), authcube.ErrInvalid, "password")
	}
	require.NoError(t, env.Engine.ConfirmPasswordReset(ctx, tok, "my new password"))
}

// S36: an attacker's failures do not lock the owner's device out; failures with a device token
// count against that device only; a forged or another user's device token gets no budget of
// its own; device tokens survive a restart.
func TestDeviceTokenKeepsOwnerIn(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(
		authcube.NewUser{Login: "marvin18", Password: authtest.Password},
		authcube.NewUser{Login: "oscar20", Password: authtest.Password},
	))
	const owner, attacker = "198.51.100.7", "203.0.113.9"
	device, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: owner})
	require.NoError(t, err)
	require.NotEmpty(t, device.DeviceToken)
	details, err := env.Engine.Session(ctx, device.Token)
	require.NoError(t, err)
	assert.Equal(t, device.DeviceToken, details.DeviceToken, "the session's holder can read its device token again")
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	assert.Empty(t, app.DeviceToken, "application sessions have none")
	oscar, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "oscar20", Password: authtest.Password})
	require.NoError(t, err)

	for range 15 {
		_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "a wrong guess", ClientAddr: attacker})
		require.Error(t, err)
	}
	right := authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: owner}
	_, err = env.Engine.SignIn(ctx, app.Token, right)
	requireCode(t, err, authcube.ErrThrottled, "") // the account is throttled ...

	forged := []byte(device.DeviceToken)
	forged[10] ^= 1
	for name, tok := range map[string]string{"forged": string(forged), "other user's": oscar.DeviceToken, "garbage": "x"} {
		c := right
		c.DeviceToken = tok
		_, err = env.Engine.SignIn(ctx, app.Token, c)
		require.ErrorIs(t, err, authcube.ErrThrottled, "%s device token: no budget of its own", name)
	}

	env.Restart(t)
	app, err = env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	withDevice := right
	withDevice.DeviceToken = device.DeviceToken
	s, err := env.Engine.CreateUserSession(ctx, withDevice) // ... but not for the owner's device
	require.NoError(t, err)
	assert.Equal(t, device.UserID, s.UserID)

	// Failures with the device token count against the device only.
	bad := withDevice
	bad.Password = "owner's typo"
	for range authcube.DefaultThrottle.Free {
		_, err = env.Engine.SignIn(ctx, app.Token, bad)
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	_, err = env.Engine.SignIn(ctx, app.Token, bad)
	requireCode(t, err, authcube.ErrThrottled, "")
	// The account's back-off after the attacker's 5 failures is 1s; had the device's 5 more
	// counted against it, it would be 32s.
	env.Clock.Advance(2 * time.Second)
	_, err = env.Engine.SignIn(ctx, app.Token, right)
	require.NoError(t, err, "the device's failures did not count against the account")
}

// S36: spraying one password over 50 logins from one client address is throttled; another
// address is not.
func TestSprayingFromOneClientIsThrottled(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "marvin18", Password: authtest.Password}))
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	verifies := authcube.VerifyCount(env.Engine)
	throttled := 0
	for i := range 50 {
		_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: fmt.Sprintf("user%d", i), Password: "Summer2026!", ClientAddr: "203.0.113.9:4711"})
		if errors.Is(err, authcube.ErrThrottled) {
			throttled++
			continue
		}
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	assert.Equal(t, 50-authcube.DefaultClientThrottle.Free, throttled)
	assert.Equal(t, int64(authcube.DefaultClientThrottle.Free), authcube.VerifyCount(env.Engine)-verifies)

	// The same address in another spelling, and another address of its IPv6 /64, count as one.
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: "::ffff:203.0.113.9"})
	requireCode(t, err, authcube.ErrThrottled, "")
	// Another address is not slowed.
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: "198.51.100.7"})
	require.NoError(t, err)

	for i := range authcube.DefaultClientThrottle.Free {
		_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: fmt.Sprintf("user%d", i), Password: "x", ClientAddr: fmt.Sprintf("2001:db8:1:2::%x", i+1)})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: "[2001:db8:1:2::ffff]:443"})
	requireCode(t, err, authcube.ErrThrottled, "")

	// A success from an address does not clear its count: an attacker cannot reset it by
	// signing in to an account of their own between guesses.
	const sprayer = "192.0.2.50"
	for i := range authcube.DefaultClientThrottle.Free - 1 {
		_, err := env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: fmt.Sprintf("other%d", i), Password: "x", ClientAddr: sprayer})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: sprayer})
	require.NoError(t, err)
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "other99", Password: "x", ClientAddr: sprayer})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")
	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "other98", Password: "x", ClientAddr: sprayer})
	requireCode(t, err, authcube.ErrThrottled, "")

	_, err = env.Engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: "not an address"})
	requireCode(t, err, authcube.ErrInvalid, "client_addr")
}

// S36, S37: the device token is a secret: it never prints, logs or marshals.
func TestDeviceTokenIsRedacted(t *testing.T) {
	t.Parallel()
	const secret = "device-token-secret"
	c := authcube.Credentials{Login: "marvin18", Password: "pw-secret", DeviceToken: secret, ClientAddr: "203.0.113.9"}
	s := authcube.Session{ID: "id", Token: "token-secret", UserID: 1, DeviceToken: secret}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "c", c, "s", s)
	js, err := json.Marshal(s)
	require.NoError(t, err)
	jc, err := json.Marshal(c)
	require.NoError(t, err)
	for _, out := range []string{c.String(), c.GoString(), fmt.Sprintf("%v %+v %#v", c, c, c), fmt.Sprintf("%v %#v", s, s), logged.String(), string(js), string(jc)} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, c.String(), "203.0.113.9")
}

// S36: the key that signs device tokens is kept in Dir/device.key (mode 0600), the same after a
// restart, and goes into backups.
func TestDeviceKeyIsDurable(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	path := filepath.Join(env.Dir, "device.key")
	key, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Len(t, key, 32)
	info, err := os.Stat(path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
	}
	env.Restart(t)
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, key, again, "a restart keeps the key")
	dst := filepath.Join(t.TempDir(), "backup")
	require.NoError(t, env.Engine.Backup(ctx, dst))
	copied, err := os.ReadFile(filepath.Join(dst, "device.key"))
	require.NoError(t, err)
	assert.Equal(t, key, copied, "a backup carries the key")
}

// S36: device tokens are not extra guesses. An attacker who once knew the password harvests a
// device token per sign-in; after the owner changes the password, all of them together share
// one device budget, the client address's budget still applies, and a token expires
// DeviceTokenMaxAge after its sign-in.
func TestDeviceTokensShareOneBudget(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "marvin18", Password: authtest.Password}))
	const attacker = "203.0.113.9"
	var harvested []string
	for range 20 {
		s, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: attacker})
		require.NoError(t, err)
		harvested = append(harvested, s.DeviceToken)
	}
	owner, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password})
	require.NoError(t, err)
	newPw := "a brand new passphrase 42"
	_, err = env.Engine.UpdateUser(ctx, owner.Token, authcube.UserUpdate{Password: &newPw, OldPassword: authtest.Password})
	require.NoError(t, err)

	verifies := authcube.VerifyCount(env.Engine)
	verified := 0
	for _, dt := range harvested {
		for range 10 {
			_, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "guess guess guess", ClientAddr: attacker, DeviceToken: dt})
			if errors.Is(err, authcube.ErrInvalidCredentials) {
				verified++
			} else {
				requireCode(t, err, authcube.ErrThrottled, "")
			}
		}
	}
	assert.Equal(t, authcube.DefaultThrottle.Free, verified, "20 tokens, one device budget")
	assert.Equal(t, int64(verified), authcube.VerifyCount(env.Engine)-verifies)

	// The account's own budget is untouched: a sign-in without a token from elsewhere works.
	_, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: newPw, ClientAddr: "198.51.100.7"})
	require.NoError(t, err)

	// A token older than DeviceTokenMaxAge is ignored: its attempt counts against the account.
	fresh, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: newPw})
	require.NoError(t, err)
	env.Clock.Advance(authcube.DeviceTokenMaxAge + 48*time.Hour)
	for range authcube.DefaultThrottle.Free {
		_, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "guess guess guess", ClientAddr: "198.51.100.8"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	_, err = env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: newPw, ClientAddr: "198.51.100.7", DeviceToken: fresh.DeviceToken})
	requireCode(t, err, authcube.ErrThrottled, "")
}

// S36: a device token does not lift the client address's budget.
func TestDeviceTokenKeepsClientBudget(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "marvin18", Password: authtest.Password}),
		authtest.WithConfig(func(c *authcube.Config) { c.ClientThrottle.Free = 2 }))
	const attacker = "203.0.113.9"
	s, err := env.Engine.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: authtest.Password, ClientAddr: attacker})
	require.NoError(t, err)
	bad := authcube.Credentials{Login: "marvin18", Password: "guess guess guess", ClientAddr: attacker, DeviceToken: s.DeviceToken}
	for range 2 {
		_, err = env.Engine.CreateUserSession(ctx, bad)
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	_, err = env.Engine.CreateUserSession(ctx, bad)
	requireCode(t, err, authcube.ErrThrottled, "")
}

// S7, S9: failures count against the canonical login or email, whatever its spelling: the
// account's display form (mixed case, full width), other cases and widths at sign-in, and a
// wrong old password at a password change are one throttle key, so the sixth failure across
// all of them (Free 5) is refused, and the right password too until the back-off ends.
func TestThrottleKeyIsTheCanonicalLoginOrEmail(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t) // DefaultThrottle: 5 free failures
	app := te.appSession(t)
	for _, tc := range []struct {
		account authcube.NewUser
		forms   []authcube.Credentials // the first is the display form; seven in all
	}{
		{authcube.NewUser{Login: "Alice"}, []authcube.Credentials{
			{Login: "Alice"}, {Login: "ALICE"}, {Login: "ＡＬＩＣＥ"}, {Login: "alice"}, {Login: "ａｌｉｃｅ"}, {Login: "aLiCe"}, {Login: "Ａlice"},
		}},
		{authcube.NewUser{Login: "ＢＯＢ"}, []authcube.Credentials{
			{Login: "ＢＯＢ"}, {Login: "Bob"}, {Login: "BOB"}, {Login: "bob"}, {Login: "ｂｏｂ"}, {Login: "Ｂob"}, {Login: "bOB"},
		}},
		{authcube.NewUser{Email: "Carol@Example.ORG"}, []authcube.Credentials{
			{Email: "Carol@Example.ORG"}, {Email: "carol@example.org"}, {Email: "CAROL@EXAMPLE.ORG"}, {Email: "ＣＡＲＯＬ@example.org"},
			{Email: "ｃａｒｏｌ@Example.org"}, {Email: "cArOl@example.ORG"}, {Email: "Carol@EXAMPLE.org"},
		}},
	} {
		tc.account.Password = testPassword
		u, err := te.SignUp(ctx, app.Token, tc.account)
		require.NoError(t, err)
		require.Equal(t, tc.account.Login, u.Login, "the display form is kept")
		right := func(i int) authcube.Credentials { c := tc.forms[i]; c.Password = testPassword; return c }
		wrong := func(i int) authcube.Credentials { c := tc.forms[i]; c.Password = "not the password"; return c }
		s, err := te.CreateUserSession(ctx, right(0))
		require.NoError(t, err, "%+v", right(0))

		// Five failures in five spellings: four sign-ins and a wrong old password.
		for i := range 4 {
			_, err := te.SignIn(ctx, te.appSession(t).Token, wrong(i))
			requireCode(t, err, authcube.ErrInvalidCredentials, "")
		}
		_, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password here"), OldPassword: "not the password"})
		requireCode(t, err, authcube.ErrInvalidCredentials, "old_password")

		// The sixth, in yet other spellings and on either way in, is throttled.
		verifies := authcube.VerifyCount(te.Engine)
		_, err = te.CreateUserSession(ctx, right(4))
		requireCode(t, err, authcube.ErrThrottled, "")
		_, err = te.SignIn(ctx, te.appSession(t).Token, right(5))
		requireCode(t, err, authcube.ErrThrottled, "")
		_, err = te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password here"), OldPassword: testPassword})
		requireCode(t, err, authcube.ErrThrottled, "")
		assert.Equal(t, verifies, authcube.VerifyCount(te.Engine), "nothing verified while throttled")

		// After the back-off one key is reset by a success in any spelling.
		te.clock.Advance(authcube.DefaultThrottle.Base)
		_, err = te.CreateUserSession(ctx, right(6))
		require.NoError(t, err, "%+v", right(6))
		for i := range 5 {
			_, err := te.CreateUserSession(ctx, wrong(i))
			requireCode(t, err, authcube.ErrInvalidCredentials, "")
		}
		_, err = te.CreateUserSession(ctx, right(5))
		requireCode(t, err, authcube.ErrThrottled, "")
	}
}

// S9: provider-token sign-ins are throttled per provider and subject: after Free refused
// tokens of one subject (other keys, another project, expired), even a valid token of that
// subject is ErrThrottled on both ways in without reaching the verifier, while another subject
// of the provider still signs in; after the back-off the valid token works.
func TestProviderTokenSignInsAreThrottled(t *testing.T) {
	t.Parallel()
	issuer := firebasetest.NewIssuer("demo-project")
	v := &countingVerifier{inner: issuer.Verifier()}
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": v}
		c.Throttle = authcube.ThrottleParams{Free: 3, Base: time.Minute, Max: time.Hour}
	})
	issuer.Now = te.clock.Now
	app := te.appSession(t)
	const phone = "+447911123456"
	otherKeys := firebasetest.NewIssuer("demo-project")
	otherKeys.Now = te.clock.Now
	otherProject := issuer.Claims("uid-9")
	otherProject["aud"] = "another-project"
	expired := issuer.Claims("uid-9")
	expired["exp"] = te.clock.Now().Add(-time.Minute).Unix()
	for _, tok := range []string{otherKeys.PhoneToken("uid-9", phone), issuer.Token(otherProject), issuer.Token(expired)} {
		_, err := te.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: tok})
		requireCode(t, err, authcube.ErrInvalidCredentials, "")
	}
	calls := v.calls.Load()
	valid := authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("uid-9", phone)}
	_, err := te.SignIn(ctx, app.Token, valid)
	ae := requireCode(t, err, authcube.ErrThrottled, "")
	assert.Equal(t, time.Minute, ae.RetryAfter)
	_, err = te.CreateUserSession(ctx, valid)
	requireCode(t, err, authcube.ErrThrottled, "")
	assert.Equal(t, calls, v.calls.Load(), "the verifier is not asked while throttled")
	assert.Equal(t, authcube.SignInThrottled, te.events.last().Kind)
	assert.Equal(t, "firebase_phone", te.events.last().Provider)

	s, err := te.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("uid-10", "+447911123457")})
	require.NoError(t, err, "another subject of the provider is not throttled")
	assert.True(t, s.IsUser())

	te.clock.Advance(time.Minute)
	valid.Token = issuer.PhoneToken("uid-9", phone) // issued now
	u, err := te.SignIn(ctx, app.Token, valid)
	require.NoError(t, err, "after the back-off")
	assert.Equal(t, phone, u.Phone)
}

// S9: an attempt is reserved before anything is looked up or hashed, and attempts in flight
// count against the free failures. Free wrong passwords are held in flight by a store hook
// (their account look-up waits); while they are, a further attempt is not admitted: it waits,
// and gives up when its ctx ends, having made no store call and no verify (an admitted one
// would reach the look-up, which the hook sees at once). Once the held attempts fail, the
// waiting ones are throttled: Free verifies in all, however many attempts were made.
func TestAttemptsInFlightCountAgainstTheFreeBudget(t *testing.T) {
	t.Parallel()
	const free = 3
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Throttle = authcube.ThrottleParams{Free: free, Base: time.Minute, Max: time.Hour}
	})
	te.signUp(t, "marvin18")
	var lookups atomic.Int64
	arrived, gate := make(chan struct{}), make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release) // before Close, which waits for the held attempts, when the test fails
	authcube.WrapStore(te.Engine, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: func(m string) error {
			if m == "UserByLogin" && lookups.Add(1) <= free {
				arrived <- struct{}{}
				<-gate
			}
			return nil
		}}
	})
	wrong := authcube.Credentials{Login: "Marvin18", Password: "wrong password"}
	verifies := authcube.VerifyCount(te.Engine)
	var held sync.WaitGroup
	for range free {
		held.Go(func() {
			_, err := te.CreateUserSession(ctx, wrong)
			requireCode(t, err, authcube.ErrInvalidCredentials, "")
		})
	}
	for range free {
		<-arrived
	}

	// Free attempts in flight: one more waits for them, so with its ctx ended it gives up
	// without a look-up or a verify.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := te.CreateUserSession(cancelled, authcube.Credentials{Login: "MARVIN18", Password: testPassword})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int64(free), lookups.Load(), "an attempt beyond the free failures in flight reached the store")

	// More attempts, right and wrong, wait for the held ones; when those fail, all are throttled.
	var waiting sync.WaitGroup
	for i := range 20 {
		waiting.Go(func() {
			c := wrong
			if i%2 == 0 {
				c.Password = testPassword
			}
			_, err := te.CreateUserSession(ctx, c)
			requireCode(t, err, authcube.ErrThrottled, "")
		})
	}
	release()
	held.Wait()
	waiting.Wait()
	assert.Equal(t, int64(free), lookups.Load(), "look-ups")
	assert.Equal(t, int64(free), authcube.VerifyCount(te.Engine)-verifies, "verifies")
}

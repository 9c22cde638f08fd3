package authcube_test

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store"
)

// alias returns token with the unused low bits of its last character set: the same 32 bytes
// to a lenient base64url decoder, a different string to a strict one.
func alias(t *testing.T, token string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	require.Len(t, token, 43)
	i := strings.IndexByte(alphabet, token[42])
	require.Zero(t, i&3, "a canonical token leaves the last two bits clear")
	a := token[:42] + string(alphabet[i|1])
	raw, err := base64.RawURLEncoding.DecodeString(a) // lenient: it ignores the unused bits
	require.NoError(t, err)
	want, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	require.Equal(t, want, raw, "the alias decodes leniently to the token's bytes")
	return a
}

// S12: malformed session and reset tokens are refused before any store access, and a token
// in a non-canonical encoding of a live token's bytes is not that token.
func TestMalformedTokensMakeNoStoreCall(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, user := te.signedIn(t, "marvin18")
	good := te.appSession(t).Token
	tokens := map[string]string{
		"empty":               "",
		"short":               good[:42],
		"long":                good + "A",
		"not base64url":       strings.Repeat("*", 43),
		"padded":              good[:42] + "=",
		"standard base64":     strings.Repeat("+", 43),
		"alias of a live one": alias(t, good),
		"alias of a user's":   alias(t, user.Token),
		"with white space":    " " + good[1:],
		"NUL":                 good[:42] + "\x00",
		"non-ASCII":           good[:41] + "é",
	}
	calls := counted(te)
	for name, tok := range tokens {
		_, err := te.Session(ctx, tok)
		requireCode(t, err, authcube.ErrUnauthorized, "")
		_, err = te.SignIn(ctx, tok, authcube.Credentials{Login: "marvin18", Password: testPassword})
		requireCode(t, err, authcube.ErrUnauthorized, "")
		_, err = te.UpdateUser(ctx, tok, authcube.UserUpdate{FullName: new("Mallory")})
		requireCode(t, err, authcube.ErrUnauthorized, "")
		requireCode(t, te.SignOut(ctx, tok), authcube.ErrUnauthorized, "")
		requireCode(t, te.DestroySession(ctx, tok), authcube.ErrUnauthorized, "")
		if !strings.HasPrefix(name, "alias") {
			requireCode(t, te.ConfirmPasswordReset(ctx, tok, "a new password"), authcube.ErrInvalid, "reset_token")
		}
		assert.Zero(t, calls.total(), "%s: no store call", name)
	}
	u, err := te.Session(ctx, user.Token)
	require.NoError(t, err, "the real tokens are untouched")
	assert.True(t, u.IsUser())
	u, err = te.Session(ctx, good)
	require.NoError(t, err)
	assert.False(t, u.IsUser())
}

// uncachedEngine closes te's engine and opens its database again as a Config.Store, which gets
// no session cache: every look-up reads the store.
func uncachedEngine(t *testing.T, te *testEngine) *authcube.Engine {
	return onCustomStore(t, te, func(s store.Store) store.Store { return s })
}

// onCustomStore closes te's engine and opens an engine on wrap(its database as a Config.Store),
// with the Dir's blobs and mailer replaced by their own: a custom store, which gets no cache.
func onCustomStore(t *testing.T, te *testEngine, wrap func(store.Store) store.Store) *authcube.Engine {
	t.Helper()
	require.NoError(t, te.Close())
	cfg := te.cfg
	cfg.Dir = ""
	cfg.Store = wrap(openStore(t, te.cfg.Dir))
	cfg.Mailer = &authtest.Mailbox{}
	blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	cfg.Blobs = blobs
	e, err := authcube.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// S14: a session that signed out is an application session again: it cannot write, also after
// a restart, when it comes from the store.
func TestSignedOutSessionCannotWrite(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	_, s := te.signedIn(t, "marvin18")
	f, err := te.UploadFile(ctx, s.Token, authcube.NewFile{Name: "a.txt"}, strings.NewReader("x"))
	require.NoError(t, err)
	require.NoError(t, te.SignOut(ctx, s.Token))
	writes := map[string]func() error{
		"UpdateUser": func() error {
			_, err := te.UpdateUser(ctx, s.Token, authcube.UserUpdate{FullName: new("Mallory")})
			return err
		},
		"password change": func() error {
			_, err := te.UpdateUser(ctx, s.Token, authcube.UserUpdate{Password: new("a new password"), OldPassword: testPassword})
			return err
		},
		"DeleteUser":    func() error { return te.DeleteUser(ctx, s.Token) },
		"RevokeSession": func() error { return te.RevokeSession(ctx, s.Token, s.ID) },
		"UploadFile": func() error {
			_, err := te.UploadFile(ctx, s.Token, authcube.NewFile{Name: "b.txt"}, strings.NewReader("y"))
			return err
		},
		"CreateFile": func() error { _, err := te.CreateFile(ctx, s.Token, authcube.NewFile{Name: "c.txt"}); return err },
		"RenameFile": func() error { _, err := te.RenameFile(ctx, s.Token, f.UID, "d.txt"); return err },
		"DeleteFile": func() error { return te.DeleteFile(ctx, s.Token, f.UID) },
	}
	for round := range 2 {
		for name, write := range writes {
			requireCode(t, write(), authcube.ErrForbidden, "")
			_ = name
		}
		got, err := te.Session(ctx, s.Token)
		require.NoError(t, err)
		assert.False(t, got.IsUser(), "round %d", round)
		te.restart(t)
	}
	u, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
	require.NoError(t, err, "the user and the password are unchanged")
	got, err := te.User(ctx, u.Token, u.UserID)
	require.NoError(t, err)
	assert.Empty(t, got.FullName)
	fs, err := te.Files(ctx, u.Token, authcube.Page{})
	require.NoError(t, err)
	require.Len(t, fs.Files, 1)
	assert.Equal(t, "a.txt", fs.Files[0].Name)
}

// S15: the idle and absolute limits are exact to the millisecond also for sessions read from
// the store: after a restart, after the cache evicted them, and in an engine without a cache
// (a Config.Store).
func TestSessionLimitsAreExactFromTheStore(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"restart", "eviction", "no cache"} {
		t.Run(how, func(t *testing.T) {
			te := newTestEngine(t, func(c *authcube.Config) {
				c.SessionMaxAge = 5 * time.Hour
				if how == "eviction" {
					c.SessionCacheSize = 1
				}
			})
			if how == "no cache" {
				te.Engine = uncachedEngine(t, te)
			}
			// fromStore makes the next look-up of any session read the store.
			fromStore := func() {
				switch how {
				case "restart":
					te.restart(t)
				case "eviction":
					te.appSession(t) // takes the one cache slot
				} // with no cache, every look-up reads the store
			}
			check := func(tok string, alive bool, what string) {
				t.Helper()
				fromStore()
				_, err := te.Session(ctx, tok)
				if alive {
					require.NoError(t, err, what)
				} else {
					requireCode(t, err, authcube.ErrUnauthorized, "")
				}
			}

			// Idle: two sessions with the same last request.
			a, b := te.appSession(t), te.appSession(t)
			te.clock.Advance(2*time.Hour - time.Millisecond)
			check(a.Token, true, "alive 1 ms before the idle limit")
			te.clock.Advance(time.Millisecond)
			check(b.Token, false, "dead at the idle limit")

			// Absolute: two sessions signed in at once, active every hour.
			te.signUp(t, "marvin18")
			var users []authcube.Session
			for range 2 {
				s, err := te.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: testPassword})
				require.NoError(t, err)
				users = append(users, s)
			}
			for range 4 {
				te.clock.Advance(time.Hour)
				for _, s := range users {
					check(s.Token, true, "active")
				}
			}
			te.clock.Advance(time.Hour - time.Millisecond)
			check(users[0].Token, true, "alive 1 ms before the absolute limit")
			te.clock.Advance(time.Millisecond)
			check(users[1].Token, false, "dead at the absolute limit")
		})
	}
}

package authcube_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authcube/authcube"
)

// FuzzSessionToken: no token a caller makes up is anything but ErrUnauthorized (S12), and the
// engine never panics on one.
func FuzzSessionToken(f *testing.F) {
	te := newTestEngine(f)
	good := te.appSession(f).Token
	for _, s := range []string{"", good, good[:42], good + "=", strings.Repeat("A", 43), "\x00", "../../etc", strings.Repeat("é", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if token == good {
			return
		}
		_, err := te.Session(ctx, token)
		if !errors.Is(err, authcube.ErrUnauthorized) {
			t.Fatalf("Session(%q) = %v, want ErrUnauthorized", token, err)
		}
	})
}

// FuzzResetToken: a made-up reset token is refused as invalid (or throttled), never accepted.
func FuzzResetToken(f *testing.F) {
	te := newTestEngine(f, func(c *authcube.Config) { c.Throttle.Free = 1 << 30 })
	for _, s := range []string{"", strings.Repeat("A", 43), "x.y.z", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		err := te.ConfirmPasswordReset(ctx, token, "a good new password")
		if !errors.Is(err, authcube.ErrInvalid) && !errors.Is(err, authcube.ErrThrottled) {
			t.Fatalf("ConfirmPasswordReset(%q) = %v", token, err)
		}
	})
}

// FuzzFileUID: a made-up file UID is refused as malformed or not found, never read (S27).
func FuzzFileUID(f *testing.F) {
	te := newTestEngine(f)
	s := te.appSession(f)
	for _, s := range []string{"", "../x", "/etc/passwd", strings.Repeat("a", 32), strings.Repeat("A", 32), "a\x00b", "ab/cd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uid string) {
		r, _, err := te.OpenFile(ctx, s.Token, uid)
		if r != nil {
			r.Close()
		}
		if !errors.Is(err, authcube.ErrInvalid) && !errors.Is(err, authcube.ErrNotFound) {
			t.Fatalf("OpenFile(%q) = %v", uid, err)
		}
	})
}

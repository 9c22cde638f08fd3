package httpauth

import (
	"errors"
	"net/http"
	"time"

	"github.com/authcube/authcube"
)

// Challenge returns the second-factor challenge of a sign-in error: when err is
// authcube.ErrSecondFactorRequired (from SignIn, SignInWith or SignUp), ok is true and the app
// asks the user for a TOTP or recovery code, then calls CompleteSignIn with the challenge.
// Keep the challenge in the page (a hidden field), never in a URL: it is a secret of that
// sign-in, single use and valid five minutes.
func Challenge(err error) (challenge string, ok bool) {
	var ce *authcube.Error
	if errors.As(err, &ce) && errors.Is(err, authcube.ErrSecondFactorRequired) && ce.Challenge != "" {
		return ce.Challenge, true
	}
	return "", false
}

// CompleteSignIn ends a sign-in that asked for a second factor (see Challenge) with the user's
// code, and sets the fresh session's cookie as SignInWith does, destroying the request's
// previous cookie session. On failure nothing changes and the engine's error is returned
// (ErrInvalidCredentials with Field "code" or "challenge", ErrThrottled).
func (a *Auth) CompleteSignIn(w http.ResponseWriter, r *http.Request, challenge, code string, opts SignInOptions) (authcube.User, error) {
	ctx := r.Context()
	s, err := a.e.CompleteSignIn(ctx, challenge, code)
	if err != nil {
		return authcube.User{}, err
	}
	u, err := a.e.User(ctx, s.Token, s.UserID)
	if err != nil {
		a.destroy(ctx, s.Token)
		return authcube.User{}, err
	}
	if old, err := r.Cookie(a.cfg.CookieName); err == nil && old.Value != "" && old.Value != s.Token {
		a.destroy(ctx, old.Value)
	}
	maxAge := 0
	if opts.Remember {
		maxAge = int(a.cfg.RememberFor / time.Second)
	}
	a.setCookie(w, a.cfg.CookieName, s.Token, maxAge)
	if s.DeviceToken != "" && a.cfg.DeviceCookieName != "-" {
		a.setCookie(w, a.cfg.DeviceCookieName, s.DeviceToken, int(DeviceCookieMaxAge/time.Second))
	}
	return u, nil
}

package rest

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/authcube/authcube"
)

// createSession serves POST /session.json: an application session, or a user session with
// user {login|email, password} or a provider token. The CB-Token header is ignored here: the
// SDK sends its previous, possibly dead, token on every request.
func (h *handler) createSession(w http.ResponseWriter, r *http.Request) error {
	var body object
	if err := h.decodeBody(w, r, &body); err != nil {
		return err
	}
	if err := h.checkApp(body); err != nil {
		return err
	}
	// SDK 6.x sends no signature; older clients' nonce, timestamp and signature are ignored,
	// since the auth key they are computed with is public anyway. The nonce is echoed.
	var nonce int64
	if s, _ := body.text("nonce"); s != "" {
		nonce, _ = strconv.ParseInt(s, 10, 64)
	}
	creds, signIn, err := credentials(body, true)
	if err != nil {
		return err
	}
	creds.ClientAddr = h.clients.Addr(r)
	var s authcube.Session
	if signIn {
		s, err = h.e.CreateUserSession(r.Context(), creds)
	} else {
		s, err = h.e.CreateSession(r.Context())
	}
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusCreated, sessionBody(s, nonce))
	return nil
}

// checkApp checks application_id (the SDK sends a number or a string) and auth_key.
func (h *handler) checkApp(body object) error {
	id, err := body.text("application_id")
	if err != nil {
		return err
	}
	key, err := body.text("auth_key")
	if err != nil {
		return err
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if perr != nil || n != h.cfg.AppID || !h.authKeyOK(key) {
		return &apiError{status: http.StatusUnauthorized, msg: "Unknown application: application_id or auth_key is wrong"}
	}
	return nil
}

// authKeyOK compares an auth key in constant time.
func (h *handler) authKeyOK(key string) bool {
	return key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.AuthKey)) == 1
}

// credentials reads who signs in: in a session request, user {login|email, password}
// (wrapped) or provider with its token; in a login request the same, unwrapped. A provider's
// token is <provider>.access_token (firebase_phone, firebase_email: the Firebase ID token; the
// project id is checked by the verifier, never taken from the request) or keys.token. It
// returns false when the body names nobody (an application session). Guest users are refused.
func credentials(body object, wrapped bool) (authcube.Credentials, bool, error) {
	provider, err := body.text("provider")
	if err != nil {
		return authcube.Credentials{}, false, err
	}
	if provider != "" {
		var tok string
		if sub, err := body.obj(provider); err == nil && sub != nil {
			if tok, err = sub.text("access_token"); err != nil {
				return authcube.Credentials{}, false, err
			}
		}
		if tok == "" {
			if keys, err := body.obj("keys"); err == nil && keys != nil {
				if tok, err = keys.text("token"); err != nil {
					return authcube.Credentials{}, false, err
				}
			}
		}
		if tok == "" {
			return authcube.Credentials{}, false, invalidField(provider, "access_token is required")
		}
		return authcube.Credentials{Provider: provider, Token: tok}, true, nil
	}
	user := body
	if wrapped || (!body.has("login") && !body.has("email") && body.has("user")) {
		if user, err = body.obj("user"); err != nil || len(user) == 0 {
			return authcube.Credentials{}, false, err
		}
	}
	if user.truthy("guest") {
		return authcube.Credentials{}, false, &apiError{status: http.StatusUnprocessableEntity,
			msg: "guest sessions are not supported by authcube: sign up a user, or use an application session"}
	}
	var c authcube.Credentials
	for _, f := range []struct {
		name string
		dst  *string
	}{{"login", &c.Login}, {"email", &c.Email}, {"password", &c.Password}} {
		if *f.dst, err = user.text(f.name); err != nil {
			return c, false, err
		}
	}
	return c, true, nil
}

// getSession serves GET /session.json.
func (h *handler) getSession(w http.ResponseWriter, r *http.Request) error {
	s, err := h.e.Session(r.Context(), token(r))
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, sessionBody(s, 0))
	return nil
}

// destroySession serves DELETE /session.json.
func (h *handler) destroySession(w http.ResponseWriter, r *http.Request) error {
	if err := h.e.DestroySession(r.Context(), token(r)); err != nil {
		return err
	}
	writeEmpty(w)
	return nil
}

// login serves POST /login.json (auth.login): the session is upgraded, keeping its token, and
// the user is returned with 202, as ConnectyCube answers.
func (h *handler) login(w http.ResponseWriter, r *http.Request) error {
	var body object
	if err := h.decodeBody(w, r, &body); err != nil {
		return err
	}
	creds, _, err := credentials(body, false)
	if err != nil {
		return err
	}
	creds.ClientAddr = h.clients.Addr(r)
	u, err := h.e.SignIn(r.Context(), token(r), creds)
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusAccepted, h.userBody(u, u.ID))
	return nil
}

// logout serves DELETE /login.json (auth.logout): back to an application session.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.e.SignOut(r.Context(), token(r)); err != nil {
		return err
	}
	writeEmpty(w)
	return nil
}

// viewer returns the user id the session of the request acts for (0 for an application
// session), for hiding other users' email and phone; with FullUserData it is not needed and
// 0 is returned without asking the engine. A dead session is ErrUnauthorized.
func (h *handler) viewer(ctx context.Context, tok string) (int64, error) {
	if h.cfg.FullUserData {
		return 0, nil
	}
	s, err := h.e.Session(ctx, tok)
	return s.UserID, err
}

// withAppSession calls f with a transient application session, destroyed afterwards: sign-up
// with CB-AuthKey and no session.
func (h *handler) withAppSession(ctx context.Context, f func(tok string) error) error {
	s, err := h.e.CreateSession(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := h.e.DestroySession(context.WithoutCancel(ctx), s.Token); err != nil {
			h.log.Warn("rest: destroying a transient application session", "err", err)
		}
	}()
	return f(s.Token)
}

// serviceSession is the handler's own application session, for what needs no client session
// (public and signed downloads, uploads by signed URL). It is created on first use and again
// when it has expired.
type serviceSession struct {
	mu  sync.Mutex
	tok string
}

// asService calls f with the service session, renewing it once if it has died.
func (h *handler) asService(ctx context.Context, f func(tok string) error) error {
	for attempt := 0; ; attempt++ {
		h.svc.mu.Lock()
		tok := h.svc.tok
		if tok == "" {
			s, err := h.e.CreateSession(ctx)
			if err != nil {
				h.svc.mu.Unlock()
				return err
			}
			tok, h.svc.tok = s.Token, s.Token
		}
		h.svc.mu.Unlock()
		err := f(tok)
		if !errors.Is(err, authcube.ErrUnauthorized) || attempt == 1 {
			return err
		}
		h.svc.mu.Lock()
		if h.svc.tok == tok {
			h.svc.tok = ""
		}
		h.svc.mu.Unlock()
	}
}

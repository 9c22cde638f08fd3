package rest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/authcube/authcube"
)

// object is a JSON object whose members are decoded on demand, so each field may be given as
// the SDK or an app sends it (a string or a number, say).
type object map[string]json.RawMessage

// has reports whether the member is present (null counts as present).
func (o object) has(name string) bool {
	_, ok := o[name]
	return ok
}

// text returns a member as text: a string as is, a number or boolean as written, null or
// absence as "". Objects and arrays are refused (422 naming the member).
func (o object) text(name string) (string, error) {
	raw, ok := o[name]
	if !ok {
		return "", nil
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "", invalidField(name, "is not valid JSON")
	}
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", invalidField(name, "must be a string")
}

// obj returns a member that is an object; absent or null gives nil.
func (o object) obj(name string) (object, error) {
	raw, ok := o[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var v object
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, invalidField(name, "must be an object")
	}
	return v, nil
}

// truthy reports whether a member is present and not null, false, 0, "" or "0".
func (o object) truthy(name string) bool {
	s, err := o.text(name)
	if err != nil {
		return o.has(name)
	}
	return s != "" && s != "false" && s != "0"
}

// createSession serves POST /session.json: an application session, or a user session with
// user {login|email, password} or a provider token. The CB-Token header is ignored here: the
// SDK sends its previous, possibly dead, token (§2.1).
func (h *handler) createSession(w http.ResponseWriter, r *http.Request) {
	var body object
	if err := h.decodeBody(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.checkApp(body); err != nil {
		h.fail(w, r, err)
		return
	}
	// 6.x sends no signature (§5); older clients' nonce, timestamp and signature are ignored,
	// since the auth key they are computed with is public anyway. The nonce is echoed.
	var nonce int64
	if s, _ := body.text("nonce"); s != "" {
		nonce, _ = strconv.ParseInt(s, 10, 64)
	}
	creds, signIn, err := credentials(body, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	creds.ClientAddr = h.clientAddr(r)
	var s authcube.Session
	if signIn {
		s, err = h.e.CreateUserSession(r.Context(), creds)
	} else {
		s, err = h.e.CreateSession(r.Context())
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusCreated, sessionBody(s, nonce))
}

// checkApp checks application_id (a number or a string, §3.2) and auth_key.
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

// credentials reads who signs in (§4.1): in a session request, user {login|email, password}
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
func (h *handler) getSession(w http.ResponseWriter, r *http.Request) {
	s, err := h.e.Session(r.Context(), token(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, sessionBody(s, 0))
}

// destroySession serves DELETE /session.json.
func (h *handler) destroySession(w http.ResponseWriter, r *http.Request) {
	if err := h.e.DestroySession(r.Context(), token(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	writeEmpty(w)
}

// login serves POST /login.json (auth.login): the session is upgraded, keeping its token, and
// the user is returned ([MEM] 202).
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	var body object
	if err := h.decodeBody(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	creds, _, err := credentials(body, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	creds.ClientAddr = h.clientAddr(r)
	u, err := h.e.SignIn(r.Context(), token(r), creds)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusAccepted, h.userBody(u, u.ID))
}

// logout serves DELETE /login.json (auth.logout): back to an application session.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.e.SignOut(r.Context(), token(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	writeEmpty(w)
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
// with CB-AuthKey and no session (§2.1).
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

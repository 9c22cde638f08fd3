package httpauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/passkey"
)

// DefaultPasskeyPrefix is where [Auth.Passkeys]'s handler serves when prefix is "".
const DefaultPasskeyPrefix = "/auth/passkeys/"

// maxPasskeyBody caps the JSON a browser sends to the passkey endpoints: 64 KiB.
const maxPasskeyBody = 64 << 10

// Passkeys returns the JSON endpoints of pk for browser JS, to mount at prefix ("" means
// DefaultPasskeyPrefix); they run behind Middleware (CSRF checks on the cookie):
//
//   - POST {prefix}register/begin (signed in): the options for navigator.credentials.create.
//   - POST {prefix}register/finish?name=... (signed in), body the PublicKeyCredential JSON:
//     the new passkey.
//   - GET {prefix} (signed in): the user's passkeys.
//   - POST {prefix}{id}/rename?name=..., DELETE {prefix}{id} (signed in).
//   - POST {prefix}login/begin?login=... : the options for navigator.credentials.get (a
//     discoverable passkey without login), made with the handler's application session.
//   - POST {prefix}login/finish, body the PublicKeyCredential JSON: signs in as SignIn does
//     (a fresh session cookie, S17) and answers the user.
//
// Errors are problem+json as WriteError writes them.
func (a *Auth) Passkeys(pk *passkey.Service, prefix string) http.Handler {
	if prefix == "" {
		prefix = DefaultPasskeyPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	mux := http.NewServeMux()
	user := func(f func(w http.ResponseWriter, r *http.Request, tok string) (any, error)) http.Handler {
		return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			v, err := f(w, r, TokenFrom(r.Context()))
			answer(w, r, v, err)
		}))
	}
	mux.Handle("POST "+prefix+"register/begin", user(func(w http.ResponseWriter, r *http.Request, tok string) (any, error) {
		return pk.BeginRegistration(r.Context(), tok)
	}))
	mux.Handle("POST "+prefix+"register/finish", user(func(w http.ResponseWriter, r *http.Request, tok string) (any, error) {
		body, err := readBody(r)
		if err != nil {
			return nil, err
		}
		return pk.FinishRegistration(r.Context(), tok, r.URL.Query().Get("name"), body)
	}))
	mux.Handle("GET "+prefix+"{$}", user(func(w http.ResponseWriter, r *http.Request, tok string) (any, error) {
		return pk.Passkeys(r.Context(), tok)
	}))
	mux.Handle("POST "+prefix+"{id}/rename", user(func(w http.ResponseWriter, r *http.Request, tok string) (any, error) {
		return map[string]bool{"ok": true}, pk.Rename(r.Context(), tok, r.PathValue("id"), r.URL.Query().Get("name"))
	}))
	mux.Handle("DELETE "+prefix+"{id}", user(func(w http.ResponseWriter, r *http.Request, tok string) (any, error) {
		return map[string]bool{"ok": true}, pk.Remove(r.Context(), tok, r.PathValue("id"))
	}))
	mux.HandleFunc("POST "+prefix+"login/begin", func(w http.ResponseWriter, r *http.Request) {
		var opts json.RawMessage
		err := a.app.Do(r.Context(), func(ctx context.Context, tok string) error {
			var err error
			opts, err = pk.BeginLogin(ctx, tok, r.URL.Query().Get("login"))
			return err
		})
		answer(w, r, opts, err)
	})
	mux.HandleFunc("POST "+prefix+"login/finish", func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			answer(w, r, nil, err)
			return
		}
		u, err := a.SignIn(w, r, passkey.Credentials(body))
		answer(w, r, map[string]any{"id": u.ID, "login": u.Login}, err)
	})
	return a.Middleware(mux)
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPasskeyBody+1))
	if err != nil || len(b) > maxPasskeyBody {
		return nil, &authcube.Error{Code: authcube.CodeInvalid, Field: "body", Message: "unreadable or over 64 KiB"}
	}
	return b, nil
}

func answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

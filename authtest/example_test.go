package authtest_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// greet is an app's own handler: it greets the user whose session token comes in the
// Authorization header. It answers every error: 401 for a dead session (telling a revoked one
// from an expired one) or an application session, 404 for a user deleted meanwhile, 503 while
// the engine shuts down, and 500 for anything else, whose cause goes to the log, not the client.
func greet(engine *authcube.Engine, log *slog.Logger) http.Handler {
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		switch {
		case errors.Is(err, authcube.ErrSessionRevoked):
			http.Error(w, "your session was ended; sign in again", http.StatusUnauthorized)
		case errors.Is(err, authcube.ErrUnauthorized):
			http.Error(w, "sign in first", http.StatusUnauthorized)
		case errors.Is(err, authcube.ErrNotFound):
			http.Error(w, "no such user", http.StatusNotFound)
		case errors.Is(err, authcube.ErrClosed):
			http.Error(w, "shutting down, try again", http.StatusServiceUnavailable)
		default:
			log.Error("greet", "path", r.URL.Path, "err", err) // Error() holds the cause
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		s, err := engine.Session(r.Context(), token)
		if err != nil {
			fail(w, r, err)
			return
		}
		if !s.IsUser() {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		u, err := engine.User(r.Context(), token, s.UserID)
		if err != nil {
			fail(w, r, err)
			return
		}
		fmt.Fprintf(w, "hello, %s", u.FullName)
	})
}

// An app tests its own HTTP handler with authcube in a few lines: a signed-in user, a request
// with its token, and expiry by moving the fake clock instead of sleeping.
func TestExampleHTTPHandler(t *testing.T) {
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{
		Login: "ann", Password: authtest.Password, FullName: "Ann Smith",
	}))
	_, session := env.SignedIn(t, "ann")
	_, other := env.SignedIn(t, "ann")

	get := func(token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/hello", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		greet(env.Engine, slog.New(slog.DiscardHandler)).ServeHTTP(rec, req)
		return rec
	}
	if got := get(session.Token).Body.String(); got != "hello, Ann Smith" {
		t.Fatalf("got %q", got)
	}

	// Revoked from the other device: 401, saying so.
	if err := env.Engine.RevokeSession(t.Context(), session.Token, other.ID); err != nil {
		t.Fatal(err)
	}
	if rec := get(other.Token); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "ended") {
		t.Fatalf("after revocation: got %d %q, want 401", rec.Code, rec.Body.String())
	}

	env.Clock.Advance(2 * time.Hour) // the session expires: no sleeping
	if rec := get(session.Token); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "sign in first") {
		t.Fatalf("after expiry: got %d %q, want 401", rec.Code, rec.Body.String())
	}

	// Errors other than a dead session are answered too.
	_, fresh := env.SignedIn(t, "ann")
	if err := env.Engine.Close(); err != nil {
		t.Fatal(err)
	}
	if got := get(fresh.Token).Code; got != http.StatusServiceUnavailable {
		t.Fatalf("engine closed: got %d, want 503", got)
	}
}

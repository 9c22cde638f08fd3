package authtest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// greet is an app's own handler: it greets the user whose session token comes in the
// Authorization header.
func greet(engine *authcube.Engine) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		s, err := engine.Session(r.Context(), token)
		if errors.Is(err, authcube.ErrUnauthorized) {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		u, err := engine.User(r.Context(), token, s.UserID)
		if err != nil {
			http.Error(w, "no such user", http.StatusNotFound)
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

	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/hello", nil)
		req.Header.Set("Authorization", "Bearer "+session.Token)
		rec := httptest.NewRecorder()
		greet(env.Engine).ServeHTTP(rec, req)
		return rec
	}
	if got := get().Body.String(); got != "hello, Ann Smith" {
		t.Fatalf("got %q", got)
	}

	env.Clock.Advance(2 * time.Hour) // the session expires: no sleeping
	if got := get().Code; got != http.StatusUnauthorized {
		t.Fatalf("after expiry: got %d, want 401", got)
	}
}

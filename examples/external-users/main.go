// Command external-users signs users in against an existing user base, as ConnectyCube's Custom
// Identity Provider does: authcube asks the external system over HTTP whether a login and
// password are good, and keeps a local user for each external one. The "existing system" here is
// a small HTTP server on loopback inside this program, so it runs offline.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity/webhook"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// legacyUsers is the existing user base: login -> password, id, name.
var legacyUsers = map[string]struct {
	password, name string
	id             int
}{
	"bigbird": {"yellow feathers", "Big Bird", 1001},
	"oscar":   {"trash can", "Oscar the Grouch", 1002},
}

// legacyAuth is the existing system's endpoint, in authcube's webhook format: POST
// {"login","password"}, answering 200 {"id","login","full_name"} or 401.
func legacyAuth(w http.ResponseWriter, r *http.Request) {
	var req struct{ Login, Password string }
	if json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	u, ok := legacyUsers[req.Login]
	if !ok || u.password != req.Password {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": u.id, "login": req.Login, "full_name": u.name})
}

func run(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(legacyAuth)}
	go srv.Serve(ln)
	defer srv.Close()

	provider, err := webhook.New(webhook.Config{URL: "http://" + ln.Addr().String() + "/auth"})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "authcube-external")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	engine, err := authcube.Open(ctx, authcube.Config{
		Dir:      dir,
		Identity: provider,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer engine.Close()

	app, err := engine.CreateSession(ctx)
	if err != nil {
		return err
	}
	// The ordinary sign-in call: the login is unknown locally, so the external system is asked.
	user, err := engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "bigbird", Password: "yellow feathers"})
	if err != nil {
		return err
	}
	fmt.Printf("signed in through the external system: user %d %q (%s)\n", user.ID, user.Login, user.FullName)

	again, err := engine.CreateUserSession(ctx, authcube.Credentials{Login: "bigbird", Password: "yellow feathers"})
	if err != nil {
		return err
	}
	fmt.Printf("again: the same local user %d\n", again.UserID)

	_, err = engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "oscar", Password: "wrong"})
	if !errors.Is(err, authcube.ErrInvalidCredentials) {
		return fmt.Errorf("a wrong password was not refused: %v", err)
	}
	fmt.Printf("a wrong password: %v\n", err)

	// Local users work alongside external ones.
	if _, err := engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "elmo", Password: "tickle me elmo"}); err != nil {
		return err
	}
	local, err := engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "elmo", Password: "tickle me elmo"})
	if err != nil {
		return err
	}
	fmt.Printf("a local user: %d %q\n", local.ID, local.Login)
	return nil
}

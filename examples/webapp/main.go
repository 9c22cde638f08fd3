// Command webapp serves the example web app (package app) on http://127.0.0.1:8080 over
// ./authcube-data: sign-up, sign-in with remember-me, profile and avatar, password change and
// reset, sessions with revocation, passkeys, users by tag, and a JSON API with Bearer tokens. Mail (the
// reset links) goes to ./authcube-data/outbox, one .eml file per message.
//
//	go run ./examples/webapp
//
// The cookies are sent without Secure, since the app is served over plain HTTP on loopback;
// behind HTTPS, leave httpauth.Config.Insecure false.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/examples/webapp/app"
	"github.com/authcube/authcube/httpauth"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/passkey"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := flag.String("dir", "./authcube-data", "the engine's directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *dir); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, dir string) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Passkeys need a domain, not an IP address: open the app at http://localhost:PORT.
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	pk, err := passkey.New(passkey.Config{RPID: "localhost", RPName: "authcube web app",
		Origins: []string{"http://localhost:" + port}, Logger: logger})
	if err != nil {
		return err
	}
	engine, err := authcube.Open(ctx, authcube.Config{
		Dir:      dir,
		ResetURL: "http://" + addr + "/reset?token={token}",
		Logger:   logger,
		// Verification links at sign-up and email changes, and "email me a code" (issue 19).
		EmailVerification: authcube.EmailVerifySend,
		VerifyEmailURL:    "http://" + addr + "/verify-email?token={token}",
		SignInCodes:       true,
		Providers:         map[string]identity.TokenVerifier{passkey.Provider: pk},
	})
	if err != nil {
		return err
	}
	defer engine.Close()
	if err := pk.Attach(engine); err != nil {
		return err
	}
	h, err := app.NewWith(engine, httpauth.Config{Insecure: true, Logger: logger}, app.Options{Passkeys: pk})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr: addr, Handler: h,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
	}
	outbox, _ := filepath.Abs(filepath.Join(dir, "outbox"))
	fmt.Printf("serving http://%s (passkeys at http://localhost:%s)\nmail (password reset links) goes to %s, one .eml file per message\n", addr, port, outbox)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

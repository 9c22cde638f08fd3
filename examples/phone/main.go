// Command phone shows phone sign-in with Firebase ID tokens, offline: a local test issuer mints
// the token a Firebase client app would get after verifying the phone by SMS, and the engine
// verifies it with the issuer's keys. In production, configure firebase.New with your project id
// and Google's keys (firebase.GoogleKeysURL) instead.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "authcube-phone")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	issuer := firebasetest.NewIssuer("demo-project") // stands in for Firebase Authentication
	engine, err := authcube.Open(ctx, authcube.Config{
		Dir:       dir,
		Providers: map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier()},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	defer engine.Close()

	// The app got this ID token from the Firebase SDK after the user confirmed the SMS code.
	idToken := issuer.PhoneToken("firebase-uid-123", "+447911123456")

	app, err := engine.CreateSession(ctx)
	if err != nil {
		return err
	}
	user, err := engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: idToken})
	if err != nil {
		return err
	}
	fmt.Printf("signed in by phone: user %d, phone %s\n", user.ID, user.Phone)

	// The same Firebase user signing in again, on another device, is the same local user.
	s, err := engine.CreateUserSession(ctx, authcube.Credentials{Provider: "firebase_phone", Token: issuer.PhoneToken("firebase-uid-123", "+447911123456")})
	if err != nil {
		return err
	}
	fmt.Printf("second device: user %d, a new session %s\n", s.UserID, s.ID)

	// A token from anyone else's keys is refused.
	forger := firebasetest.NewIssuer("demo-project")
	_, err = engine.SignIn(ctx, app.Token, authcube.Credentials{Provider: "firebase_phone", Token: forger.PhoneToken("firebase-uid-123", "+447911123456")})
	fmt.Printf("a forged token: %v\n", err)
	return nil
}

// Command quickstart walks through authcube's basic flow on ./authcube-data: an application
// session, sign-up, sign-in (the same token upgraded), the session's details, look-ups, a
// profile update, and sign-out. Run it twice: the second run finds the user already there and
// signs in again.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/authcube/authcube"
)

func main() {
	if err := run(context.Background(), "./authcube-data"); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, dir string) error {
	// Warnings only: the engine logs security events at Info.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	engine, err := authcube.Open(ctx, authcube.Config{Dir: dir, Logger: logger})
	if err != nil {
		return err
	}
	defer engine.Close()
	fmt.Printf("opened %s\n", dir)

	// 1. An application session: it may read, sign up and sign in.
	app, err := engine.CreateSession(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("application session %s, expires %s\n", app.ID, app.ExpiresAt.Format("15:04:05 MST"))

	// 2. Sign up, as in ConnectyCube's guide. On a second run the login is taken.
	user, err := engine.SignUp(ctx, app.Token, authcube.NewUser{
		Login:    "marvin18",
		Password: "supersecurepwd",
		FullName: "Marvin Simon",
		Phone:    "47802323143",
		Tags:     []string{"iphone", "apple"},
	})
	switch {
	case errors.Is(err, authcube.ErrConflict):
		fmt.Println("signed up already: login marvin18 is taken")
	case err != nil:
		return err
	default:
		fmt.Printf("signed up user %d (%s)\n", user.ID, user.Login)
	}

	// 3. Sign in: the same token now acts for the user.
	user, err = engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})
	if err != nil {
		return err
	}
	fmt.Printf("signed in as user %d, %s, tags %v\n", user.ID, user.FullName, user.Tags)

	// 4. The session's details.
	s, err := engine.Session(ctx, app.Token)
	if err != nil {
		return err
	}
	fmt.Printf("session %s: user %d, signed in %s, expires %s\n",
		s.ID, s.UserID, s.SignedInAt.Format("15:04:05 MST"), s.ExpiresAt.Format("15:04:05 MST"))

	// 5. Look users up: any session may.
	byLogin, err := engine.UserByLogin(ctx, app.Token, "Marvin18") // logins compare case-insensitively
	if err != nil {
		return err
	}
	fmt.Printf("user by login Marvin18: %d\n", byLogin.ID)
	byPhone, err := engine.UserByPhone(ctx, app.Token, "+47 802 323 143") // phones in normal form
	if err != nil {
		return err
	}
	fmt.Printf("user by phone: %d (%s)\n", byPhone.ID, byPhone.Phone)
	tagged, err := engine.UsersByTags(ctx, app.Token, []string{"iphone"}, authcube.Page{PerPage: 10})
	if err != nil {
		return err
	}
	fmt.Printf("users tagged iphone: %d\n", tagged.Total)
	named, err := engine.UsersByFullName(ctx, app.Token, "simon", authcube.Page{})
	if err != nil {
		return err
	}
	fmt.Printf("users whose name contains \"simon\": %d\n", named.Total)

	// 6. Update the profile: only the fields given change.
	user, err = engine.UpdateUser(ctx, app.Token, authcube.UserUpdate{
		Website: new("https://example.org/marvin"),
		Tags:    new([]string{"iphone", "apple", "quickstart"}),
	})
	if err != nil {
		return err
	}
	fmt.Printf("updated: website %s, tags %v\n", user.Website, user.Tags)

	// 7. Sign out: back to an application session, same token.
	if err := engine.SignOut(ctx, app.Token); err != nil {
		return err
	}
	s, err = engine.Session(ctx, app.Token)
	if err != nil {
		return err
	}
	fmt.Printf("signed out: session %s is an application session again (user session: %v)\n", s.ID, s.IsUser())

	// 8. Destroy it: the token is dead from now on.
	if err := engine.DestroySession(ctx, app.Token); err != nil {
		return err
	}
	_, err = engine.Session(ctx, app.Token)
	fmt.Printf("destroyed: using the token now fails: %v\n", err)
	return nil
}

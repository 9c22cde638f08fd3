package authcube_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/authcube/authcube"
)

// openExample opens an engine in a temporary directory with a fixed clock and a seeded random
// source, so the example's output is the same on every run.
func openExample() (*authcube.Engine, func()) {
	dir, err := os.MkdirTemp("", "authcube-example")
	if err != nil {
		log.Fatal(err)
	}
	engine, err := authcube.Open(context.Background(), authcube.Config{
		Dir:     dir,
		Now:     func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) },
		Rand:    rand.NewChaCha8([32]byte{}),
		Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, // cheap: examples only
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	return engine, func() { engine.Close(); os.RemoveAll(dir) }
}

func ExampleEngine_SignUp() {
	engine, done := openExample()
	defer done()
	ctx := context.Background()

	app, err := engine.CreateSession(ctx) // an application session may sign users up
	if err != nil {
		log.Fatal(err)
	}
	user, err := engine.SignUp(ctx, app.Token, authcube.NewUser{
		Login:    "marvin18",
		Password: "supersecurepwd",
		FullName: "Marvin Simon",
		Phone:    "+44 (27) 123-314",
		Tags:     []string{"iPhone", "apple"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.ID, user.Login, user.FullName, user.Phone, user.Tags)

	// The same login in another spelling is taken.
	_, err = engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "Marvin18", Password: "supersecurepwd"})
	fmt.Println(errors.Is(err, authcube.ErrConflict), err)

	// Bad input names the field.
	_, err = engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "ann", Password: "password1234"})
	fmt.Println(err)
	// Output:
	// 1 marvin18 Marvin Simon +4427123314 [iphone apple]
	// true authcube: sign up: login: already taken
	// authcube: sign up: password: is too common
}

func ExampleEngine_SignIn() {
	engine, done := openExample()
	defer done()
	ctx := context.Background()

	app, _ := engine.CreateSession(ctx)
	if _, err := engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "supersecurepwd"}); err != nil {
		log.Fatal(err)
	}

	// Sign in upgrades the application session: the same token now acts for the user.
	user, err := engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})
	if err != nil {
		log.Fatal(err)
	}
	s, _ := engine.Session(ctx, app.Token)
	fmt.Println("signed in:", user.Login, s.IsUser(), s.ID == app.ID)
	fmt.Println("expires:", s.ExpiresAt.Format(time.RFC3339))

	// A wrong password, like an unknown login, is ErrInvalidCredentials.
	_, err = engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "not my password"})
	fmt.Println(errors.Is(err, authcube.ErrInvalidCredentials), err)

	// Sign out downgrades the session back to an application session.
	_ = engine.SignOut(ctx, app.Token)
	s, _ = engine.Session(ctx, app.Token)
	fmt.Println("signed in after sign-out:", s.IsUser())
	// Output:
	// signed in: marvin18 true true
	// expires: 2026-11-26T14:00:00Z
	// true authcube: sign in: invalid login or password
	// signed in after sign-out: false
}

func ExampleEngine_UpdateUser() {
	engine, done := openExample()
	defer done()
	ctx := context.Background()

	app, _ := engine.CreateSession(ctx)
	_, _ = engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "supersecurepwd", Phone: "47802323143"})
	_, _ = engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})

	// Only the fields that are not nil change; new("") clears one.
	user, err := engine.UpdateUser(ctx, app.Token, authcube.UserUpdate{
		FullName: new("Marvin Samuel"),
		Tags:     new([]string{"android"}),
		Phone:    new(""),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %q %v\n", user.FullName, user.Phone, user.Tags)

	// A password change needs the old password.
	_, err = engine.UpdateUser(ctx, app.Token, authcube.UserUpdate{Password: new("an even better pwd"), OldPassword: "wrong"})
	fmt.Println(err)
	_, err = engine.UpdateUser(ctx, app.Token, authcube.UserUpdate{Password: new("an even better pwd"), OldPassword: "supersecurepwd"})
	fmt.Println(err)
	// Output:
	// Marvin Samuel "" [android]
	// authcube: update user: old_password: invalid login or password
	// <nil>
}

func ExampleEngine_UsersByTags() {
	engine, done := openExample()
	defer done()
	ctx := context.Background()

	app, _ := engine.CreateSession(ctx)
	for i, tags := range [][]string{{"iphone"}, {"android"}, {"iphone", "apple"}, {"iphone"}} {
		_, err := engine.SignUp(ctx, app.Token, authcube.NewUser{
			Login: fmt.Sprintf("user%d", i+1), Password: "supersecurepwd", Tags: tags,
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	// Page through everyone tagged "iphone", two at a time, by cursor.
	p := authcube.Page{PerPage: 2}
	for {
		page, err := engine.UsersByTags(ctx, app.Token, []string{"iphone"}, p)
		if err != nil {
			log.Fatal(err)
		}
		for _, u := range page.Users {
			fmt.Printf("%s of %d\n", u.Login, page.Total)
		}
		if page.Next == "" {
			break
		}
		p.After = page.Next
	}

	// The same through ListUsers, newest first, with a second condition.
	page, _ := engine.ListUsers(ctx, app.Token, authcube.UserQuery{
		Where: []authcube.Cond{
			{Field: authcube.FieldTags, Op: authcube.OpIn, Values: []any{"iphone"}},
			{Field: authcube.FieldLogin, Op: authcube.OpNe, Values: []any{"user1"}},
		},
		Sort: authcube.FieldID, Desc: true,
	})
	for _, u := range page.Users {
		fmt.Println(u.Login)
	}
	// Output:
	// user1 of 3
	// user3 of 3
	// user4 of 3
	// user4
	// user3
}

func ExampleEngine_UploadFile() {
	engine, done := openExample()
	defer done()
	ctx := context.Background()

	app, _ := engine.CreateSession(ctx)
	_, _ = engine.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "supersecurepwd"})
	_, _ = engine.SignIn(ctx, app.Token, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})

	// Upload a picture and make it the avatar.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	f, err := engine.UploadFile(ctx, app.Token, authcube.NewFile{Name: "me.png"}, bytes.NewReader(png))
	if err != nil {
		log.Fatal(err)
	}
	user, err := engine.UpdateUser(ctx, app.Token, authcube.UserUpdate{AvatarUID: new(f.UID)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Name, f.ContentType, f.Size, user.AvatarUID == f.UID)

	// Any session that knows the UID reads it.
	other, _ := engine.CreateSession(ctx)
	r, info, err := engine.OpenFile(ctx, other.Token, user.AvatarUID)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	fmt.Println(info.Name, len(b))
	// Output:
	// me.png image/png 16 true
	// me.png 16
}

// exampleMailbox keeps the messages an example engine sends.
type exampleMailbox struct{ last authcube.Message }

func (m *exampleMailbox) Send(_ context.Context, msg authcube.Message) error {
	m.last = msg
	return nil
}

func ExampleEngine_ResetPassword() {
	mailbox := &exampleMailbox{}
	dir, _ := os.MkdirTemp("", "authcube-example")
	defer os.RemoveAll(dir)
	engine, err := authcube.Open(context.Background(), authcube.Config{
		Dir:      dir,
		Mailer:   mailbox, // nil would write .eml files to dir/outbox
		ResetURL: "https://app.example/reset?token={token}",
		Hashing:  authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	ctx := context.Background()

	app, _ := engine.CreateSession(ctx)
	_, _ = engine.SignUp(ctx, app.Token, authcube.NewUser{Email: "marvin@example.org", Password: "supersecurepwd"})

	// The answer is the same whether or not the address has an account; the mail goes in the
	// background.
	if err := engine.ResetPassword(ctx, app.Token, "marvin@example.org"); err != nil {
		log.Fatal(err)
	}
	_ = engine.FlushMail(ctx)
	fmt.Println(mailbox.last.Kind, mailbox.last.To)
	fmt.Println(strings.HasPrefix(mailbox.last.Link, "https://app.example/reset?token="))

	// The user follows the link and chooses a new password; all their sessions end.
	err = engine.ConfirmPasswordReset(ctx, mailbox.last.Token, "my new password")
	fmt.Println(err)
	_, err = engine.CreateUserSession(ctx, authcube.Credentials{Email: "marvin@example.org", Password: "my new password"})
	fmt.Println(err)
	// Output:
	// MessagePasswordReset marvin@example.org
	// true
	// <nil>
	// <nil>
}

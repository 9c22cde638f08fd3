package authcube_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/authcube/authcube"
)

func ExampleEngine_Admin() {
	engine, done := openExample()
	defer done()
	ctx := context.Background()
	admin := engine.Admin() // trusted server code only: no session, every field

	// Users from elsewhere keep their passwords: a bcrypt hash of "correct horse battery".
	res, err := admin.ImportUsers(ctx, []authcube.UserRecord{{
		Login:        "mallory",
		PasswordHash: "$2a$04$JsT00Smu6OW8sVnR1R1MTOPSys1CT62gG1NeZgoutCDC8p7OmlRT.",
	}}, authcube.ImportOptions{})
	if err != nil {
		log.Fatal(err)
	}
	id := res[0].ID
	u, _ := admin.User(ctx, id)
	fmt.Println(u.Login, u.HashScheme)

	if err := admin.DisableUser(ctx, id); err != nil {
		log.Fatal(err)
	}
	_, err = engine.CreateUserSession(ctx, authcube.Credentials{Login: "mallory", Password: "correct horse battery"})
	fmt.Println(errors.Is(err, authcube.ErrUserDisabled))

	if err := admin.EnableUser(ctx, id); err != nil {
		log.Fatal(err)
	}
	_, err = engine.CreateUserSession(ctx, authcube.Credentials{Login: "mallory", Password: "correct horse battery"})
	u, _ = admin.User(ctx, id)
	fmt.Println(err, u.HashScheme) // replaced by argon2id at the first sign-in

	st, _ := admin.Stats(ctx)
	fmt.Println(st.Users, st.UserSessions)
	// Output:
	// mallory bcrypt
	// true
	// <nil> argon2id
	// 1 1
}

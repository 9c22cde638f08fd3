package firebase_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
)

// A verifier for a project's phone sign-ins, given the project's keys. In production Keys would
// be a copy of GoogleKeysURL's response, or KeysURL would be set to it.
func ExampleNew() {
	iss := firebasetest.NewIssuer("my-project") // stands in for Firebase
	v, err := firebase.New(firebase.Config{ProjectID: "my-project", Keys: iss.KeysJSON()})
	if err != nil {
		panic(err)
	}
	phoneOnly := v.WithSignInProvider("phone")

	c, err := phoneOnly.VerifyToken(context.Background(), iss.PhoneToken("uid-1", "+15551234567"))
	fmt.Println(c.Subject, c.Phone, c.SignInProvider, err)

	_, err = phoneOnly.VerifyToken(context.Background(), iss.EmailToken("uid-2", "ann@example.com"))
	fmt.Println(errors.Is(err, identity.ErrRejected), err)
	// Output:
	// uid-1 +15551234567 phone <nil>
	// true firebase: token rejected: sign_in_provider: not the one required
}

package canon_test

import (
	"errors"
	"fmt"

	"github.com/authcube/authcube/internal/canon"
)

func ExampleLogin() {
	for _, s := range []string{"BigBird", "ｂｉｇｂｉｒｄ", "big bird"} {
		display, canonical, err := canon.Login(s)
		fmt.Printf("%q %q %v\n", display, canonical, err)
	}
	// Output:
	// "BigBird" "bigbird" <nil>
	// "ｂｉｇｂｉｒｄ" "bigbird" <nil>
	// "" "" login: may contain only letters, digits and . _ - @ +
}

func ExampleEmail() {
	for _, s := range []string{"Mike@Example.ORG", "user@Bücher.example", "a@b.co\r\nBcc: x@y.z"} {
		display, canonical, err := canon.Email(s)
		fmt.Printf("%q %q %v\n", display, canonical, err)
	}
	// Output:
	// "Mike@example.org" "mike@example.org" <nil>
	// "user@bücher.example" "user@xn--bcher-kva.example" <nil>
	// "" "" email: must not contain control characters
}

func ExamplePhone() {
	p, err := canon.Phone("+44 (20) 7946-0958")
	fmt.Println(p, err)
	// Output: +442079460958 <nil>
}

func ExampleError() {
	_, err := canon.Password("short", 8)
	var e *canon.Error
	if errors.As(err, &e) {
		fmt.Println(e.Field, "|", e.Reason)
	}
	// Output: password | must be at least 8 characters
}

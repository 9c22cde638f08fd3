package smtpmail_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/smtpmail"
)

// An engine whose password-reset mail goes out through a submission server over STARTTLS.
func Example() {
	mailer, err := smtpmail.New(smtpmail.Config{
		Addr:     "smtp.example.org:587",
		Username: "authcube@example.org",
		Password: "app-password", // in real code: from a secret store or the environment
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mailer) // the password never prints

	dir, err := os.MkdirTemp("", "authcube-smtpmail-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	engine, err := authcube.Open(context.Background(), authcube.Config{
		Dir:      dir,
		MailFrom: "authcube@example.org",
		Mailer:   mailer,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	// Output:
	// smtpmail.Mailer{Addr: "smtp.example.org:587", Username: "authcube@example.org", Password: [redacted], TLS: StartTLSRequired, TLSConfig: nil, Timeout: 30s, LocalName: "localhost"}
}

// Package identity defines how authcube talks to identities it does not keep itself: a custom
// identity provider (an external user base that checks logins and passwords) and providers of
// signed tokens (Firebase phone and email sign-in). It never imports authcube, and authcube
// maps its errors to the public ones: any error denies.
package identity

import (
	"context"
	"errors"
	"time"
)

// ErrRejected is returned when a provider answered and refused the credentials or token, as
// opposed to failing to answer. Both deny; only the second is worth an alert.
var ErrRejected = errors.New("identity: rejected")

// Profile is what a custom identity provider says about a user it accepts.
type Profile struct {
	Subject  string // the provider's stable, unique id of the user; required
	Login    string // optional: a login to give the local user
	Email    string // optional
	FullName string // optional
}

// PasswordVerifier is a custom identity provider: an external user base. VerifyPassword returns
// the user's profile when the provider accepts the login and password (or an external token in
// the password field), ErrRejected when it refuses them, and another error when it cannot say.
// Implementations must be safe for concurrent use, honour ctx, and never log passwords.
type PasswordVerifier interface {
	VerifyPassword(ctx context.Context, login, password string) (Profile, error)
}

// Claims are the verified claims of a provider token.
type Claims struct {
	Subject        string    // the provider's user id ("sub"); never empty
	Phone          string    // E.164 phone number, when the token carries one
	Email          string    // when the token carries one
	EmailVerified  bool      //
	SignInProvider string    // how the user signed in at the provider: "phone", "password", ...
	IssuedAt       time.Time //
	ExpiresAt      time.Time //
	// MultiFactor is set by a verifier that checked more than one factor of the user, as a
	// passkey whose authenticator verified the user (a PIN or biometric besides possession):
	// the sign-in then satisfies a second factor the user has enrolled.
	MultiFactor bool
}

// TokenVerifier checks a provider token (a Firebase ID token, say) and returns its claims, or
// an error wrapping ErrRejected for a token that is not valid. Implementations must be safe for
// concurrent use and honour ctx.
type TokenVerifier interface {
	VerifyToken(ctx context.Context, token string) (Claims, error)
}

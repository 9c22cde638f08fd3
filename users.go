package authcube

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// User is a user's profile. It never carries a password or its hash.
type User struct {
	ID            int64 // never reused
	Login         string
	Email         string
	FullName      string
	Phone         string // normal form: optional "+" and 5 to 15 digits; not unique
	Website       string
	ExternalID    string // the app's own reference; profile data, not an identity
	Tags          []string
	CustomData    string // opaque text, at most 64 KiB; apps usually keep JSON here
	AvatarUID     string // UID of a file the user owns, "" when none
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastRequestAt time.Time
}

// NewUser is what SignUp takes. Login or Email, and Password, are required; the rest is
// optional. Validation (S26): Login 3 to 64 characters of letters, digits and "._-@+"; Email one
// address of at most 254 characters; Phone an optional "+" and 5 to 15 digits once spaces,
// dashes, dots and parentheses are removed; Website http or https; at most 32 Tags of 1 to 64
// characters without commas (folded to lower case, duplicates dropped); CustomData at most 64 KiB.
type NewUser struct {
	Login, Email, Password               string
	FullName, Phone, Website, ExternalID string
	Tags                                 []string
	CustomData                           string
}

// String describes u without its password.
func (u NewUser) String() string {
	return fmt.Sprintf("NewUser{Login: %q, Email: %q, Password: %s}", u.Login, u.Email, redacted(u.Password))
}

// GoString is String: the password never prints, not even with %#v.
func (u NewUser) GoString() string { return u.String() }

// LogValue logs u without its password.
func (u NewUser) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login", u.Login), slog.String("email", u.Email))
}

func publicUser(u store.User) User {
	return User{
		ID: u.ID, Login: u.Login, Email: u.Email, FullName: u.FullName, Phone: u.Phone,
		Website: u.Website, ExternalID: u.ExternalID, Tags: u.Tags, CustomData: u.CustomData,
		AvatarUID: u.AvatarUID, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastRequestAt: u.LastRequestAt,
	}
}

// SignUp creates a user. Any live session may sign up a user (ConnectyCube lets application
// sessions do it); the session is not signed in. A login or email that another user has, in any
// spelling that folds to the same canonical form, is ErrConflict with Field "login" or "email";
// bad input is ErrInvalid naming the field.
func (e *Engine) SignUp(ctx context.Context, token string, nu NewUser) (User, error) {
	const op = "sign up"
	if err := e.begin(op); err != nil {
		return User{}, err
	}
	defer e.calls.Done()
	s, err := e.request(ctx, op, token)
	if err != nil {
		return User{}, err
	}
	u, err := e.validateNewUser(op, nu)
	if err != nil {
		return User{}, err
	}
	password, err := e.checkNewPassword(op, "password", nu.Password, u.Login, u.Email)
	if err != nil {
		return User{}, err
	}
	if u.PasswordHash, err = e.hasher.hash(ctx, password); err != nil {
		return User{}, internal(op, err)
	}
	now := e.now()
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = now, now, now
	if u.ID, err = e.store.CreateUser(ctx, u); err != nil {
		return User{}, storeErr(op, err)
	}
	e.emit(Event{Kind: UserCreated, SessionID: s.ID, UserID: u.ID, At: now})
	return publicUser(u), nil
}

// validateNewUser checks every field of nu and returns the record to store, without the
// password hash.
func (e *Engine) validateNewUser(op string, nu NewUser) (store.User, error) {
	var u store.User
	var err error
	if nu.Login == "" && nu.Email == "" {
		return u, invalid(op, "login", "login or email is required")
	}
	if nu.Password == "" {
		return u, invalid(op, "password", "is required")
	}
	if nu.Login != "" {
		if u.Login, u.LoginCanon, err = canon.Login(nu.Login); err != nil {
			return u, invalidFrom(op, err)
		}
	}
	if nu.Email != "" {
		if u.Email, u.EmailCanon, err = canon.Email(nu.Email); err != nil {
			return u, invalidFrom(op, err)
		}
	}
	if u.FullName, err = canon.FullName(nu.FullName); err != nil {
		return u, invalidFrom(op, err)
	}
	if u.Phone, err = canon.Phone(nu.Phone); err != nil {
		return u, invalidFrom(op, err)
	}
	if u.Website, err = canon.Website(nu.Website); err != nil {
		return u, invalidFrom(op, err)
	}
	if u.ExternalID, err = canon.ExternalID(nu.ExternalID); err != nil {
		return u, invalidFrom(op, err)
	}
	if u.Tags, err = canon.Tags(nu.Tags); err != nil {
		return u, invalidFrom(op, err)
	}
	if u.CustomData, err = canon.CustomData(nu.CustomData); err != nil {
		return u, invalidFrom(op, err)
	}
	return u, nil
}

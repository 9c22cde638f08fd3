package authcube

import (
	"context"
	"errors"
	"fmt"
	"github.com/authcube/authcube/blob"
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
	// EmailVerified reports that Email was verified (a mailed link or code, or a provider that
	// verified it), at EmailVerifiedAt. A changed email is unverified until confirmed (S40).
	EmailVerified   bool
	EmailVerifiedAt time.Time
}

// NewUser is what SignUp takes. Login or Email, and Password, are required; the rest is
// optional (Password too, for an account with an Email, when Config.Passwordless is set: it
// signs in with codes by email). Validation (S26): Login 3 to 64 characters of letters, digits and "._-@+"; Email one
// address of at most 254 characters; Phone an optional "+" and 5 to 15 digits once spaces,
// dashes, dots and parentheses are removed; Website http or https; at most 32 Tags of 1 to 64
// characters without commas (folded to lower case, duplicates dropped); CustomData at most 64 KiB.
// Password never prints, logs or marshals to JSON (S37).
type NewUser struct {
	Login, Email                         string
	Password                             string `json:"-"`
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
		EmailVerified: !u.EmailVerifiedAt.IsZero() && u.Email != "", EmailVerifiedAt: u.EmailVerifiedAt,
	}
}

// SignUp creates a user. Any live session may sign up a user (ConnectyCube lets application
// sessions do it); the session is not signed in. A login or email that another user has, in any
// spelling that folds to the same canonical form, is ErrConflict with Field "login" or "email";
// bad input is ErrInvalid naming the field.
func (e *Engine) SignUp(ctx context.Context, token string, nu NewUser) (User, error) {
	const op = "sign up"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return User{}, err
	}
	defer done()
	u, err := e.validateNewUser(op, nu)
	if err != nil {
		return User{}, err
	}
	if nu.Password != "" || !e.cfg.Passwordless {
		password, err := e.checkNewPassword(op, "password", nu.Password, u.Login, u.Email)
		if err != nil {
			return User{}, err
		}
		if u.PasswordHash, err = e.hasher.hash(ctx, password); err != nil {
			return User{}, internal(op, err)
		}
	}
	now := e.now()
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = now, now, now
	if u.ID, err = e.store.CreateUser(ctx, u); err != nil {
		return User{}, storeErr(op, err)
	}
	e.emit(Event{Kind: UserCreated, SessionID: s.ID, UserID: u.ID, At: now})
	e.sendVerification(ctx, u)
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
	if nu.Password == "" && !(e.cfg.Passwordless && nu.Email != "") {
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

// UserUpdate changes the fields that are not nil, all or nothing: UserUpdate{FullName:
// new("Ann")}. new("") clears a field; new([]string(nil)) clears the tags. Login and Email may
// not both end up empty. Changing Password needs OldPassword and ends the user's other sessions;
// changing Email voids pending reset tokens. Password and OldPassword never print, log or
// marshal to JSON (S37).
type UserUpdate struct {
	Login, Email, FullName, Phone, Website, ExternalID, CustomData, AvatarUID *string
	Tags                                                                      *[]string
	Password                                                                  *string `json:"-"`
	OldPassword                                                               string  `json:"-"`
}

// String describes u without its passwords.
func (u UserUpdate) String() string {
	s := "UserUpdate{"
	if u.Login != nil {
		s += fmt.Sprintf("Login: %q, ", *u.Login)
	}
	if u.Email != nil {
		s += fmt.Sprintf("Email: %q, ", *u.Email)
	}
	if u.Password != nil {
		s += "Password: [REDACTED], "
	}
	return s + "OldPassword: " + redacted(u.OldPassword) + "}"
}

// GoString is String: passwords never print, not even with %#v.
func (u UserUpdate) GoString() string { return u.String() }

// LogValue logs u without its passwords.
func (u UserUpdate) LogValue() slog.Value { return slog.StringValue(u.String()) }

// UpdateUser changes the profile of the session's own user and returns it as updated. An
// application session gets ErrForbidden. A taken login or email is ErrConflict; a wrong
// OldPassword is ErrInvalidCredentials with Field "old_password" and counts as a failed
// sign-in. A password change keeps the calling session and ends every other session of the user
// in the same transaction.
func (e *Engine) UpdateUser(ctx context.Context, token string, uu UserUpdate) (User, error) {
	const op = "update user"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return User{}, err
	}
	defer done()
	u, cur, err := e.updateUser(ctx, op, s, uu, false)
	if errors.Is(err, store.ErrStale) {
		// The hash changed between reading and writing. A rehash at sign-in (same password,
		// new parameters) must not make the change fail: check the old password against the
		// new hash and try once more. A real change elsewhere ended this session anyway.
		u, cur, err = e.updateUser(ctx, op, s, uu, true)
	}
	switch {
	case errors.Is(err, store.ErrNotFound): // the session was ended meanwhile
		return User{}, e.gone(ctx, op, s.TokenHash)
	case errors.Is(err, store.ErrStale):
		return User{}, &Error{Code: CodeConflict, Op: op, Field: "password", Message: "was changed meanwhile; try again"}
	case errors.Is(err, store.ErrInvalidAvatar):
		return User{}, invalid(op, "avatar", "is not one of your complete files")
	case err != nil:
		return User{}, storeErr(op, err)
	}
	e.emit(Event{Kind: UserUpdated, SessionID: s.ID, UserID: u.ID, At: u.UpdatedAt})
	if uu.Password != nil {
		e.emit(Event{Kind: PasswordChanged, SessionID: s.ID, UserID: u.ID, At: u.UpdatedAt})
		e.notify(ctx, MessagePasswordChanged, u.ID, u.Email)
	}
	if cur.EmailCanon != "" && u.EmailCanon != cur.EmailCanon {
		e.notify(ctx, MessageEmailChanged, u.ID, cur.Email) // to the old address (S24)
	}
	if u.EmailCanon != "" && u.EmailCanon != cur.EmailCanon {
		e.sendVerification(ctx, u) // the new address is unverified until confirmed (S40)
	}
	u.LastRequestAt = s.LastRequestAt // this request; the store may lag (activity is written back)
	return publicUser(u), nil
}

// updateUser validates uu and stores the change. Errors of the store come back as they are
// (storeErr leaves *Error values alone).
//
// A change of the login, the email or the password is checked against the current record,
// which it reads first (cur; the email-changed notice goes to cur's address). Any other change
// does not need it and skips the read: cur is then the zero User.
func (e *Engine) updateUser(ctx context.Context, op string, s store.Session, uu UserUpdate, retry bool) (u, cur store.User, err error) {
	if uu.Login != nil || uu.Email != nil || uu.Password != nil {
		if cur, err = e.store.User(ctx, s.UserID); err != nil {
			return u, cur, err
		}
	}
	c, err := e.validateUpdate(op, uu, cur)
	if err != nil {
		return u, cur, err
	}
	c.UserID, c.SessionHash = s.UserID, s.TokenHash
	if uu.Password != nil {
		if err := e.changePassword(ctx, op, &c, uu, cur, retry); err != nil {
			return u, cur, err
		}
	}
	c.UpdatedAt = e.now()
	u, revoked, err := e.store.UpdateUser(ctx, c)
	e.revoked(revoked...)
	return u, cur, err
}

// validateUpdate checks every field set in uu and returns the change to store (without the
// password, which changePassword adds).
func (e *Engine) validateUpdate(op string, uu UserUpdate, cur store.User) (store.UserChange, error) {
	var c store.UserChange
	login, email := cur.LoginCanon, cur.EmailCanon
	if uu.Login != nil {
		display, key := "", ""
		if *uu.Login != "" {
			var err error
			if display, key, err = canon.Login(*uu.Login); err != nil {
				return c, invalidFrom(op, err)
			}
		}
		c.Login, c.LoginCanon, login = &display, &key, key
	}
	if uu.Email != nil {
		display, key := "", ""
		if *uu.Email != "" {
			var err error
			if display, key, err = canon.Email(*uu.Email); err != nil {
				return c, invalidFrom(op, err)
			}
		}
		c.Email, c.EmailCanon, email = &display, &key, key
	}
	if (uu.Login != nil || uu.Email != nil) && login == "" && email == "" {
		return c, invalid(op, "login", "login or email is required")
	}
	for _, f := range []struct {
		in    *string
		out   **string
		check func(string) (string, error)
	}{
		{uu.FullName, &c.FullName, canon.FullName},
		{uu.Phone, &c.Phone, canon.Phone},
		{uu.Website, &c.Website, canon.Website},
		{uu.ExternalID, &c.ExternalID, canon.ExternalID},
		{uu.CustomData, &c.CustomData, canon.CustomData},
	} {
		if f.in == nil {
			continue
		}
		v, err := f.check(*f.in)
		if err != nil {
			return c, invalidFrom(op, err)
		}
		*f.out = &v
	}
	if uu.Tags != nil {
		tags, err := canon.Tags(*uu.Tags)
		if err != nil {
			return c, invalidFrom(op, err)
		}
		c.Tags = &tags
	}
	if uu.AvatarUID != nil {
		if *uu.AvatarUID != "" && !blob.ValidUID(*uu.AvatarUID) {
			return c, invalid(op, "avatar", "is not one of your files")
		}
		c.AvatarUID = uu.AvatarUID
	}
	return c, nil
}

// changePassword checks OldPassword (S7: a wrong one counts as a failed sign-in) and the new
// password's rules (S1-S3), and adds the new hash to c as a compare-and-swap on the old one. On
// a retry after a lost compare-and-swap, the old password was verified already: a mismatch then
// means the password changed meanwhile (store.ErrStale), not a guess.
func (e *Engine) changePassword(ctx context.Context, op string, c *store.UserChange, uu UserUpdate, cur store.User, retry bool) error {
	if uu.OldPassword == "" {
		return invalid(op, "old_password", "is required to change the password")
	}
	login, email := cur.Login, cur.Email
	if c.Login != nil {
		login = *c.Login
	}
	if c.Email != nil {
		email = *c.Email
	}
	password, err := e.checkNewPassword(op, "password", *uu.Password, login, email)
	if err != nil {
		return err
	}
	if retry {
		old, _ := canon.Password(uu.OldPassword, 1)
		ok, _, err := e.hasher.verify(ctx, cur.PasswordHash, old)
		if err != nil {
			return internal(op, err)
		}
		if !ok {
			return store.ErrStale
		}
		return e.setNewHash(ctx, op, c, password, cur)
	}
	// A wrong old password counts as a failed sign-in (S7), on the same throttle key.
	key, who := e.accountKey("login", cur.LoginCanon), cur.Login
	if cur.LoginCanon == "" {
		key, who = e.accountKey("email", cur.EmailCanon), cur.Email
	}
	if err := e.throttle.reserve(ctx, op, who, providerPassword, key); err != nil {
		return err
	}
	ok := false
	defer func() { e.throttle.finish(context.WithoutCancel(ctx), ok, key) }()
	if old, perr := canon.Password(uu.OldPassword, 1); perr == nil {
		if ok, _, err = e.hasher.verify(ctx, cur.PasswordHash, old); err != nil {
			ok = false
			return internal(op, err)
		}
	}
	if !ok {
		err := errorFor(ErrInvalidCredentials, op, "old_password")
		e.emit(Event{Kind: SignInFailed, UserID: cur.ID, Login: who, Provider: providerPassword, Err: err})
		return err
	}
	return e.setNewHash(ctx, op, c, password, cur)
}

// setNewHash hashes the new password into c, as a compare-and-swap on the current hash.
func (e *Engine) setNewHash(ctx context.Context, op string, c *store.UserChange, password string, cur store.User) error {
	hash, err := e.hasher.hash(ctx, password)
	if err != nil {
		return internal(op, err)
	}
	c.PasswordHash, c.OldPasswordHash = &hash, cur.PasswordHash
	return nil
}

// DeleteUser deletes the session's own user, with its sessions and tags. As in ConnectyCube it
// needs only the session, not the password. An application session gets ErrForbidden.
func (e *Engine) DeleteUser(ctx context.Context, token string) error {
	const op = "delete user"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	revoked, err := e.store.DeleteUser(ctx, s.TokenHash, s.UserID)
	e.revoked(revoked...)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return e.gone(ctx, op, s.TokenHash)
		}
		return storeErr(op, err)
	}
	e.emit(Event{Kind: UserDeleted, SessionID: s.ID, UserID: s.UserID})
	return nil
}

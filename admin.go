package authcube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// Admin is the trusted handle of an engine, for the server code that embeds it and for the
// authcube command: it acts for no session, sees every field of every user, and changes any
// user. Get it with [Engine.Admin]. Nothing of it is reachable over the REST facade (S44);
// never hand it to code that acts for an end user.
//
// Every change it makes is an [Event] with Admin set, and a log record at Info (S28, S44).
// It needs a store with the [store.Admin] ability (the SQLite and PostgreSQL stores have it);
// over any other store its methods fail with an internal error. It is safe for concurrent use.
type Admin struct {
	e *Engine
}

// Admin returns the engine's trusted handle.
func (e *Engine) Admin() *Admin { return &Admin{e: e} }

// AdminUser is a user as [Admin] shows it: the profile and what only trusted code sees. It
// never carries a password or its hash.
type AdminUser struct {
	User
	// Disabled users sign in nowhere (see [Admin.DisableUser]).
	Disabled bool
	// HashScheme names the form of the stored password hash: "argon2id", or the form it
	// was imported in ("bcrypt", "firescrypt", "scrypt", "pbkdf2-sha256", ...) until the user's
	// first sign-in replaces it; "" when the user has no password.
	HashScheme string
}

func adminUser(u store.User) AdminUser {
	return AdminUser{User: publicUser(u), Disabled: u.Disabled, HashScheme: passwordScheme(u.PasswordHash)}
}

// passwordScheme names the form of a stored hash without parsing its parameters.
func passwordScheme(h string) string {
	switch {
	case h == "":
		return ""
	case strings.HasPrefix(h, "$argon2id$"):
		return "argon2id"
	case strings.HasPrefix(h, "$2"):
		return "bcrypt"
	case strings.HasPrefix(h, "pbkdf2_"):
		return "django-" + strings.ReplaceAll(strings.SplitN(h, "$", 2)[0], "_", "-")
	case strings.HasPrefix(h, "$"):
		return strings.SplitN(h[1:], "$", 2)[0]
	}
	return "unknown"
}

// Stats are the counts [Admin.Stats] reports.
type Stats struct {
	Users         int64
	DisabledUsers int64
	Sessions      int64 // live sessions, user and application
	UserSessions  int64 // live sessions acting for a user
	Files         int64 // complete files
	FileBytes     int64 // their total size in bytes
}

// adminStore returns the store's Admin ability.
func (a *Admin) adminStore(op string) (store.Admin, error) {
	st, ok := a.e.store.(store.Admin)
	if !ok {
		return nil, &Error{Code: CodeInternal, Op: op, Message: "the store has no admin operations"}
	}
	return st, nil
}

// enter starts an admin call: registered in flight (ErrClosed once Close has begun), with the
// store's Admin ability. On success the caller defers a.e.done().
func (a *Admin) enter(op string) (store.Admin, error) {
	if err := a.e.begin(op); err != nil {
		return nil, err
	}
	st, err := a.adminStore(op)
	if err != nil {
		a.e.done()
	}
	return st, err
}

// CreateUser creates a user with the same validation as [Engine.SignUp] (S1-S3, S26, S35):
// bad input is ErrInvalid naming the field, a taken login or email ErrConflict.
func (a *Admin) CreateUser(ctx context.Context, nu NewUser) (AdminUser, error) {
	const op = "admin create user"
	if _, err := a.enter(op); err != nil {
		return AdminUser{}, err
	}
	defer a.e.done()
	e := a.e
	u, err := e.validateNewUser(op, nu)
	if err != nil {
		return AdminUser{}, err
	}
	password, err := e.checkNewPassword(op, "password", nu.Password, u.Login, u.Email)
	if err != nil {
		return AdminUser{}, err
	}
	if u.PasswordHash, err = e.hasher.hash(ctx, password); err != nil {
		return AdminUser{}, internal(op, err)
	}
	now := e.now()
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = now, now, now
	if u.ID, err = e.store.CreateUser(ctx, u); err != nil {
		return AdminUser{}, storeErr(op, err)
	}
	e.emit(Event{Kind: UserCreated, UserID: u.ID, At: now, Admin: true})
	return adminUser(u), nil
}

// User returns the user with the id; ErrNotFound when there is none.
func (a *Admin) User(ctx context.Context, id int64) (AdminUser, error) {
	const op = "admin user"
	if _, err := a.enter(op); err != nil {
		return AdminUser{}, err
	}
	defer a.e.done()
	u, err := a.e.store.User(ctx, id)
	if err != nil {
		return AdminUser{}, storeErr(op, err)
	}
	return adminUser(u), nil
}

// UserByLogin returns the user with the login, in any spelling of its canonical form (S10);
// ErrNotFound when there is none.
func (a *Admin) UserByLogin(ctx context.Context, login string) (AdminUser, error) {
	const op = "admin user by login"
	if _, err := a.enter(op); err != nil {
		return AdminUser{}, err
	}
	defer a.e.done()
	_, key, err := canon.Login(login)
	if err != nil {
		return AdminUser{}, errorFor(ErrNotFound, op, "")
	}
	u, err := a.e.store.UserByLogin(ctx, key)
	if err != nil {
		return AdminUser{}, storeErr(op, err)
	}
	return adminUser(u), nil
}

// UserByEmail returns the user with the email, in any spelling of its canonical form (S10);
// ErrNotFound when there is none.
func (a *Admin) UserByEmail(ctx context.Context, email string) (AdminUser, error) {
	const op = "admin user by email"
	if _, err := a.enter(op); err != nil {
		return AdminUser{}, err
	}
	defer a.e.done()
	_, key, err := canon.Email(email)
	if err != nil {
		return AdminUser{}, errorFor(ErrNotFound, op, "")
	}
	u, err := a.e.store.UserByEmail(ctx, key)
	if err != nil {
		return AdminUser{}, storeErr(op, err)
	}
	return adminUser(u), nil
}

// MaxAdminPage is the most users one call of [Admin.Users] or [Admin.ExportUsers] returns.
const MaxAdminPage = 10_000

// Users returns at most limit users (1 to MaxAdminPage; 0 means 100) with ids above afterID,
// in id order: pass the last id of a page to get the next. An empty page is the end.
func (a *Admin) Users(ctx context.Context, afterID int64, limit int) ([]AdminUser, error) {
	const op = "admin users"
	us, err := a.allUsers(ctx, op, afterID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]AdminUser, len(us))
	for i, u := range us {
		out[i] = adminUser(u)
	}
	return out, nil
}

func (a *Admin) allUsers(ctx context.Context, op string, afterID int64, limit int) ([]store.User, error) {
	st, err := a.enter(op)
	if err != nil {
		return nil, err
	}
	defer a.e.done()
	switch {
	case limit == 0:
		limit = 100
	case limit < 0 || limit > MaxAdminPage:
		return nil, invalid(op, "limit", fmt.Sprintf("must be 1 to %d", MaxAdminPage))
	}
	us, err := st.AllUsers(ctx, afterID, limit)
	if err != nil {
		return nil, storeErr(op, err)
	}
	return us, nil
}

// UpdateUser changes the fields of uu that are not nil, for any user, with the validation of
// [Engine.UpdateUser]. A new Password needs no OldPassword (it is ignored) but follows the
// password rules (S1-S3, S35), and ends every session of the user in the same transaction; the
// user is told by mail, as after a change of their own, and an email change is told to the old
// address. A user that does not exist is ErrNotFound; a taken login or email ErrConflict.
func (a *Admin) UpdateUser(ctx context.Context, id int64, uu UserUpdate) (AdminUser, error) {
	const op = "admin update user"
	st, err := a.enter(op)
	if err != nil {
		return AdminUser{}, err
	}
	defer a.e.done()
	e := a.e
	cur, err := e.store.User(ctx, id)
	if err != nil {
		return AdminUser{}, storeErr(op, err)
	}
	c, err := e.validateUpdate(op, uu, cur)
	if err != nil {
		return AdminUser{}, err
	}
	c.UserID = id
	if uu.Password != nil {
		login, email := cur.Login, cur.Email
		if c.Login != nil {
			login = *c.Login
		}
		if c.Email != nil {
			email = *c.Email
		}
		password, err := e.checkNewPassword(op, "password", *uu.Password, login, email)
		if err != nil {
			return AdminUser{}, err
		}
		hash, err := e.hasher.hash(ctx, password)
		if err != nil {
			return AdminUser{}, internal(op, err)
		}
		c.PasswordHash = &hash
	}
	c.UpdatedAt = e.now()
	u, revoked, err := st.AdminUpdateUser(ctx, c)
	e.revoked(revoked...)
	switch {
	case errors.Is(err, store.ErrInvalidAvatar):
		return AdminUser{}, invalid(op, "avatar", "is not one of the user's complete files")
	case err != nil:
		return AdminUser{}, storeErr(op, err)
	}
	e.emit(Event{Kind: UserUpdated, UserID: id, At: u.UpdatedAt, Admin: true})
	if uu.Password != nil {
		e.emit(Event{Kind: PasswordChanged, UserID: id, At: u.UpdatedAt, Admin: true})
		e.notify(ctx, MessagePasswordChanged, id, u.Email)
	}
	if cur.EmailCanon != "" && u.EmailCanon != cur.EmailCanon {
		e.notify(ctx, MessageEmailChanged, id, cur.Email)
	}
	return adminUser(u), nil
}

// DeleteUser deletes the user with its sessions, tags and files (their bytes go at the next
// sweep); ErrNotFound when there is none.
func (a *Admin) DeleteUser(ctx context.Context, id int64) error {
	const op = "admin delete user"
	st, err := a.enter(op)
	if err != nil {
		return err
	}
	defer a.e.done()
	revoked, err := st.AdminDeleteUser(ctx, id)
	a.e.revoked(revoked...)
	if err != nil {
		return storeErr(op, err)
	}
	a.e.emit(Event{Kind: UserDeleted, UserID: id, Admin: true})
	return nil
}

// DisableUser disables the user: every session of the user ends at once, in the same
// transaction (its tokens answer ErrUnauthorized with the cause ErrSessionRevoked), and every
// sign-in is refused until [Admin.EnableUser]: with ErrInvalidCredentials when the credentials
// are wrong, as for anyone, and with ErrUserDisabled when they are right (S44). A sign-in that
// verified the password just before is refused too: the session write checks the flag.
// Disabling a disabled user changes nothing but its UpdatedAt. ErrNotFound when there is none.
func (a *Admin) DisableUser(ctx context.Context, id int64) error {
	return a.setDisabled(ctx, "admin disable user", id, true)
}

// EnableUser lets a disabled user sign in again; its ended sessions stay ended. ErrNotFound
// when there is none.
func (a *Admin) EnableUser(ctx context.Context, id int64) error {
	return a.setDisabled(ctx, "admin enable user", id, false)
}

func (a *Admin) setDisabled(ctx context.Context, op string, id int64, disabled bool) error {
	st, err := a.enter(op)
	if err != nil {
		return err
	}
	defer a.e.done()
	now := a.e.now()
	revoked, err := st.SetUserDisabled(ctx, id, disabled, now)
	a.e.revoked(revoked...)
	if err != nil {
		return storeErr(op, err)
	}
	kind := UserEnabled
	if disabled {
		kind = UserDisabled
	}
	a.e.emit(Event{Kind: kind, UserID: id, At: now, Admin: true})
	return nil
}

// Sessions returns the live sessions of the user, oldest first, without their tokens, each
// with its latest request (activity not yet written back included). A user without sessions,
// or that does not exist, has none.
func (a *Admin) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	const op = "admin sessions"
	if _, err := a.enter(op); err != nil {
		return nil, err
	}
	defer a.e.done()
	e := a.e
	list, err := e.store.UserSessions(ctx, userID)
	if err != nil {
		return nil, storeErr(op, err)
	}
	now := ms(e.now())
	out := make([]Session, 0, len(list))
	for _, ls := range list {
		if e.cache != nil {
			ls.LastRequestAt = fromMS(max(ms(ls.LastRequestAt), e.cache.lastRequest(ls.TokenHash)))
		}
		if now >= ms(e.expiresAt(ls)) {
			continue
		}
		out = append(out, e.publicSession(ls, ""))
	}
	return out, nil
}

// RevokeSession ends the user's session with the id (from [Admin.Sessions]) at once (S33);
// ErrNotFound when the user has no session with that id.
func (a *Admin) RevokeSession(ctx context.Context, userID int64, sessionID string) error {
	const op = "admin revoke session"
	if _, err := a.enter(op); err != nil {
		return err
	}
	defer a.e.done()
	if len(sessionID) > 64 {
		return errorFor(ErrNotFound, op, "")
	}
	hash, err := a.e.store.DeleteUserSession(ctx, userID, sessionID)
	if err != nil {
		return storeErr(op, err)
	}
	a.e.revoked(hash)
	a.e.emit(Event{Kind: SessionRevoked, SessionID: sessionID, UserID: userID, Admin: true})
	return nil
}

// RevokeSessions ends every session of the user at once and returns how many there were
// (expired ones not yet swept included); a user without sessions, or that does not exist, has 0.
func (a *Admin) RevokeSessions(ctx context.Context, userID int64) (int, error) {
	const op = "admin revoke sessions"
	st, err := a.enter(op)
	if err != nil {
		return 0, err
	}
	defer a.e.done()
	revoked, err := st.RevokeUserSessions(ctx, userID)
	a.e.revoked(revoked...)
	if err != nil {
		return 0, storeErr(op, err)
	}
	a.e.emit(Event{Kind: SessionRevoked, UserID: userID, Admin: true})
	return len(revoked), nil
}

// Stats counts users, live sessions and complete files. Session activity held in memory is
// written back first, so that the live count is exact.
func (a *Admin) Stats(ctx context.Context) (Stats, error) {
	const op = "admin stats"
	st, err := a.enter(op)
	if err != nil {
		return Stats{}, err
	}
	defer a.e.done()
	e := a.e
	if err := e.flushActivity(ctx); err != nil {
		return Stats{}, storeErr(op, err)
	}
	now := e.now()
	c, err := st.Counts(ctx, now.Add(-e.cfg.SessionIdleTTL).Add(time.Millisecond), now.Add(-e.cfg.SessionMaxAge).Add(time.Millisecond))
	if err != nil {
		return Stats{}, storeErr(op, err)
	}
	return Stats(c), nil
}

// UserRecord is a user as it moves in and out of authcube: [Admin.ExportUsers] writes it and
// [Admin.ImportUsers] reads it. PasswordHash is the stored hash: authcube's argon2id, or a hash
// imported from another system (see [Admin.ImportUsers]). It is a secret: it never prints,
// logs or marshals to JSON (S37); a program that moves it writes it field by field.
type UserRecord struct {
	ID                                   int64 // on import, 0 lets authcube choose
	Login, Email                         string
	FullName, Phone, Website, ExternalID string
	Tags                                 []string
	CustomData                           string
	PasswordHash                         string    `json:"-"`
	CreatedAt                            time.Time // on import, zero means now
	Disabled                             bool
}

// String describes r without its password hash.
func (r UserRecord) String() string {
	return fmt.Sprintf("UserRecord{ID: %d, Login: %q, Email: %q, PasswordHash: %s}", r.ID, r.Login, r.Email, redacted(r.PasswordHash))
}

// GoString is String: the hash never prints, not even with %#v.
func (r UserRecord) GoString() string { return r.String() }

// LogValue logs r without its password hash.
func (r UserRecord) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("id", r.ID), slog.String("login", r.Login), slog.String("email", r.Email))
}

// ExportUsers returns at most limit users (1 to MaxAdminPage; 0 means 100) with ids above
// afterID, in id order, with their password hashes: pass the last id of a page to get the
// next; an empty page is the end. What it returns, given to ImportUsers, makes the same users.
func (a *Admin) ExportUsers(ctx context.Context, afterID int64, limit int) ([]UserRecord, error) {
	const op = "admin export users"
	us, err := a.allUsers(ctx, op, afterID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]UserRecord, len(us))
	for i, u := range us {
		out[i] = UserRecord{
			ID: u.ID, Login: u.Login, Email: u.Email, FullName: u.FullName, Phone: u.Phone,
			Website: u.Website, ExternalID: u.ExternalID, Tags: u.Tags, CustomData: u.CustomData,
			PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt, Disabled: u.Disabled,
		}
	}
	return out, nil
}

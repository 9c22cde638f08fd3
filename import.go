package authcube

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/authcube/authcube/internal/pwhash"
	"github.com/authcube/authcube/store"
)

// OnConflict says what [Admin.ImportUsers] does with a user whose id, login or email another
// user has.
type OnConflict int

// The choices of ImportOptions.OnConflict.
const (
	// ConflictFail stops the import at the first conflict (the zero value).
	ConflictFail OnConflict = iota
	// ConflictSkip skips the user and goes on.
	ConflictSkip
)

// ImportOptions tune [Admin.ImportUsers]. The zero value imports and stops at a conflict.
type ImportOptions struct {
	OnConflict OnConflict
	// DryRun validates every record and looks for conflicts with the stored users, and writes
	// nothing.
	DryRun bool
}

// ImportStatus is what [Admin.ImportUsers] did with one record.
type ImportStatus int

// The statuses of an [ImportResult].
const (
	ImportInserted ImportStatus = iota + 1 // inserted; ID is its id
	ImportExisting                         // already there (same id, or same login and email): ID is its id
	ImportSkipped                          // another user has its id, login or email; Err says which
	ImportInvalid                          // refused; Err says which field and why
	ImportValid                            // with DryRun: would be inserted
)

// ImportResult is what [Admin.ImportUsers] did with one record.
type ImportResult struct {
	Status ImportStatus
	ID     int64
	// Err is ErrInvalid naming the field with ImportInvalid, and ErrConflict naming the field
	// ("id", "login" or "email") with ImportSkipped.
	Err error
}

// ImportUsers adds users with their password hashes, in one transaction, for migrations from
// other systems and restores of [Admin.ExportUsers]. It takes at most MaxAdminPage records per
// call (a larger import calls it once per batch) and returns one result per record, in order.
//
// Each record gets the validation of [Engine.SignUp] (S26, S35), except the password: its
// PasswordHash is kept as it is, and must be "" (no password: the user can reset one), an
// argon2id PHC string, or one of the forms authcube verifies: bcrypt ($2a$, $2b$, $2y$),
// Firebase's modified scrypt ($firescrypt$ln=,r=,p=1$salt$hash$separator$key), scrypt
// ($scrypt$ln=,r=,p=$salt$key), PBKDF2-SHA256 or -SHA512 in PHC form ($pbkdf2-sha256$i=,l=$...)
// or Django's (pbkdf2_sha256$...), argon2i ($argon2i$v=19$...), each with parameters inside
// ceilings checked before anything is allocated (S45). Any other is ImportInvalid with Field
// "password_hash". An imported hash is verified at the user's first sign-in (one verify per
// attempt, throttled as any, S8 and S9) and then replaced by argon2id at the engine's
// parameters (S5).
//
// A record with an ID keeps it. Imports can be run again: a record whose user is already there
// is ImportExisting and left alone: a user with the same canonical login and email, and the
// same id, or (for a record without an id) the same password hash or creation time. A record whose id, login or email another user has
// is a conflict: with ConflictSkip it is ImportSkipped; with ConflictFail the call stops there,
// having inserted the records before it, and returns the results up to and including it with
// ErrConflict naming the field. Invalid records are ImportInvalid and never stop the call.
//
// One UsersImported event (Admin set) and one log record at Info report each call; imported
// users get no UserCreated event each.
func (a *Admin) ImportUsers(ctx context.Context, recs []UserRecord, opt ImportOptions) ([]ImportResult, error) {
	const op = "admin import users"
	st, err := a.enter(op)
	if err != nil {
		return nil, err
	}
	defer a.e.done()
	if len(recs) > MaxAdminPage {
		return nil, invalid(op, "records", "at most 10000 per call")
	}
	e := a.e
	now := e.now()
	results := make([]ImportResult, len(recs))
	valid := make([]store.User, 0, len(recs))
	at := make([]int, 0, len(recs)) // index in recs of each valid user
	for i, r := range recs {
		u, err := e.validateRecord(op, r, now)
		if err != nil {
			results[i] = ImportResult{Status: ImportInvalid, Err: err}
			continue
		}
		valid = append(valid, u)
		at = append(at, i)
	}
	if opt.DryRun {
		for j, u := range valid {
			results[at[j]], err = a.dryRun(ctx, op, u)
			if err != nil {
				return nil, err
			}
		}
		return results, nil
	}
	stored, err := st.InsertUsers(ctx, valid, opt.OnConflict == ConflictFail)
	if err != nil {
		return nil, storeErr(op, err)
	}
	var inserted, existing, skipped, invalidN int
	var stop error
	for j, sr := range stored {
		i := at[j]
		switch sr.Status {
		case store.ImportInserted:
			results[i] = ImportResult{Status: ImportInserted, ID: sr.ID}
			inserted++
		case store.ImportExisting:
			results[i] = ImportResult{Status: ImportExisting, ID: sr.ID}
			existing++
		default:
			cerr := errorFor(ErrConflict, op, sr.Field)
			results[i] = ImportResult{Status: ImportSkipped, Err: cerr}
			skipped++
			if opt.OnConflict == ConflictFail {
				results, stop = results[:i+1], cerr
			}
		}
	}
	for _, r := range results {
		if r.Status == ImportInvalid {
			invalidN++
		}
	}
	e.emit(Event{Kind: UsersImported, At: now, Admin: true})
	e.log.Info("authcube: users imported", "inserted", inserted, "existing", existing, "conflicts", skipped, "invalid", invalidN)
	return results, stop
}

// dryRun tells what importing u would do, from the stored users.
func (a *Admin) dryRun(ctx context.Context, op string, u store.User) (ImportResult, error) {
	e := a.e
	probe := func(field string, find func() (store.User, error)) (ImportResult, bool, error) {
		got, err := find()
		if errors.Is(err, store.ErrNotFound) {
			return ImportResult{}, false, nil
		}
		if err != nil {
			return ImportResult{}, false, storeErr(op, err)
		}
		same := u.ID == got.ID || got.PasswordHash == u.PasswordHash || got.CreatedAt.Equal(u.CreatedAt)
		if got.LoginCanon == u.LoginCanon && got.EmailCanon == u.EmailCanon && (u.ID == 0 || u.ID == got.ID) && same {
			return ImportResult{Status: ImportExisting, ID: got.ID}, true, nil
		}
		return ImportResult{Status: ImportSkipped, Err: errorFor(ErrConflict, op, field)}, true, nil
	}
	if u.ID != 0 {
		if r, ok, err := probe("id", func() (store.User, error) { return e.store.User(ctx, u.ID) }); ok || err != nil {
			return r, err
		}
	}
	if u.LoginCanon != "" {
		if r, ok, err := probe("login", func() (store.User, error) { return e.store.UserByLogin(ctx, u.LoginCanon) }); ok || err != nil {
			return r, err
		}
	}
	if u.EmailCanon != "" {
		if r, ok, err := probe("email", func() (store.User, error) { return e.store.UserByEmail(ctx, u.EmailCanon) }); ok || err != nil {
			return r, err
		}
	}
	return ImportResult{Status: ImportValid}, nil
}

// validateRecord checks r as SignUp checks a NewUser, and its password hash (S45).
func (e *Engine) validateRecord(op string, r UserRecord, now time.Time) (store.User, error) {
	nu := NewUser{
		Login: r.Login, Email: r.Email, Password: "-", FullName: r.FullName, Phone: r.Phone,
		Website: r.Website, ExternalID: r.ExternalID, Tags: r.Tags, CustomData: r.CustomData,
	}
	u, err := e.validateNewUser(op, nu)
	if err != nil {
		return u, err
	}
	if r.ID < 0 {
		return u, invalid(op, "id", "must not be negative")
	}
	if err := checkImportedHash(r.PasswordHash); err != nil {
		return u, invalid(op, "password_hash", err.Error())
	}
	u.ID, u.PasswordHash, u.Disabled = r.ID, r.PasswordHash, r.Disabled
	u.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
	if r.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.UpdatedAt, u.LastRequestAt = now, u.CreatedAt
	return u, nil
}

// checkImportedHash accepts "", authcube's own argon2id and the foreign forms pwhash verifies,
// with parameters inside the ceilings (S45). Its message names the problem, never the hash.
func checkImportedHash(h string) error {
	if h == "" {
		return nil
	}
	if strings.HasPrefix(h, "$argon2id$") {
		if _, _, _, err := decodePHC(h); err != nil {
			return errors.New("argon2id: malformed or parameters out of range")
		}
		return nil
	}
	if _, err := pwhash.Parse(h); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), pwhash.ErrUnknown.Error()+": "))
	}
	return nil
}

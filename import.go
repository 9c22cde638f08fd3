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

// BulkMode says when [Admin.ImportUsers] may defer the upkeep of derived data (see
// ImportOptions.Bulk).
type BulkMode int

// The choices of ImportOptions.Bulk.
const (
	// BulkNever keeps everything up to date user by user (the zero value).
	BulkNever BulkMode = iota
	// BulkIfEmpty defers when the store has no users yet (the first import into a new
	// directory), or when an earlier batch of this import deferred already.
	BulkIfEmpty
	// BulkAlways defers even when the store has users: until FinishImport, full-name search
	// and the counts miss the users imported so far.
	BulkAlways
)

// ImportOptions tune [Admin.ImportUsers]. The zero value imports and stops at a conflict.
type ImportOptions struct {
	OnConflict OnConflict
	// DryRun validates every record and looks for conflicts with the stored users, and writes
	// nothing.
	DryRun bool
	// Bulk lets a store that can (SQLite, see [store.BulkImporter]) stop keeping full-name
	// search, the user and tag counts and its secondary indexes up to date user by user, and
	// rebuild them once in [Admin.FinishImport], which the importer calls after its last batch:
	// several times faster for a large import. Nothing else changes: each call still commits
	// whole, ids, logins and emails are still checked at every insert, and the results are the
	// same. An import that never reaches FinishImport (a crash, a kill) is finished by the next
	// opening of the store. Ignored with DryRun, and by stores without the ability.
	Bulk BulkMode
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
	p, err := a.PrepareImport(recs)
	if err != nil {
		return nil, err
	}
	return a.ImportPrepared(ctx, p, opt)
}

// PreparedImport is a batch of records validated by [Admin.PrepareImport].
type PreparedImport struct {
	results []ImportResult // the invalid records' results; zero for the others
	valid   []store.User
	at      []int // index in the records of each valid user
}

// PrepareImport does the first half of [Admin.ImportUsers]: it validates recs (at most
// MaxAdminPage) and touches no store, so that a large import can validate the next batch on
// another goroutine while [Admin.ImportPrepared] writes this one. It is safe for concurrent
// use.
func (a *Admin) PrepareImport(recs []UserRecord) (*PreparedImport, error) {
	const op = "admin import users"
	if len(recs) > MaxAdminPage {
		return nil, invalid(op, "records", "at most 10000 per call")
	}
	e := a.e
	now := e.now()
	p := &PreparedImport{
		results: make([]ImportResult, len(recs)),
		valid:   make([]store.User, 0, len(recs)),
		at:      make([]int, 0, len(recs)),
	}
	for i, r := range recs {
		u, err := e.validateRecord(op, r, now)
		if err != nil {
			p.results[i] = ImportResult{Status: ImportInvalid, Err: err}
			continue
		}
		p.valid = append(p.valid, u)
		p.at = append(p.at, i)
	}
	return p, nil
}

// ImportPrepared does the second half of [Admin.ImportUsers] with the records p holds, and
// answers as ImportUsers does.
func (a *Admin) ImportPrepared(ctx context.Context, p *PreparedImport, opt ImportOptions) ([]ImportResult, error) {
	const op = "admin import users"
	st, err := a.enter(op)
	if err != nil {
		return nil, err
	}
	defer a.e.done()
	e := a.e
	now := e.now()
	results := append([]ImportResult(nil), p.results...)
	valid, at := p.valid, p.at
	if opt.DryRun {
		for j, u := range valid {
			results[at[j]], err = a.dryRun(ctx, op, u)
			if err != nil {
				return nil, err
			}
		}
		return results, nil
	}
	if bi, ok := st.(store.BulkImporter); ok && opt.Bulk != BulkNever && len(valid) > 0 {
		if _, err := bi.BeginBulk(ctx, opt.Bulk == BulkIfEmpty); err != nil {
			return nil, storeErr(op, err)
		}
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

// FinishImport ends an import made with ImportOptions.Bulk: it rebuilds, in one transaction,
// what the store stopped keeping up to date (for SQLite, over a million users: seconds). It
// does nothing when nothing was deferred, so an importer calls it after its last batch
// whatever happened, on success, error or conflict alike.
func (a *Admin) FinishImport(ctx context.Context) error {
	const op = "admin finish import"
	st, err := a.enter(op)
	if err != nil {
		return err
	}
	defer a.e.done()
	if bi, ok := st.(store.BulkImporter); ok {
		if err := bi.EndBulk(ctx); err != nil {
			return storeErr(op, err)
		}
	}
	return nil
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

// Package usersql holds what the two SQL stores (store/sqlite and store/postgres) write alike
// about users: the SET list of a [store.UserChange], and the rule that tells an imported user
// met again from another user holding its login or email. Both stores write their statements
// with '?' placeholders; each keeps what its database spells differently (how tags are stored).
package usersql

import (
	"strings"

	"github.com/authcube/authcube/internal/unixms"
	"github.com/authcube/authcube/store"
)

// Sets returns the SET list of c and its arguments, in order: updated_at, then each field c
// changes. The list names constant columns only; every value is an argument. tags turns the
// user's tags into the store's argument for the tags column. An empty login, email or password
// hash is stored as NULL, as at creation. A changed email clears email_verified_at (S40) unless
// its canonical form is the one stored (the row's old values are read by the SET).
func Sets(c store.UserChange, tags func([]string) any) (string, []any) {
	sets := []string{"updated_at = ?"}
	args := []any{unixms.Of(c.UpdatedAt)}
	set := func(col string, v any) {
		sets = append(sets, col+" = ?")
		args = append(args, v)
	}
	if c.Login != nil {
		set("login", Null(*c.Login))
		set("login_canon", Null(deref(c.LoginCanon)))
	}
	if c.Email != nil {
		sets = append(sets, "email_verified_at = CASE WHEN email_canon IS NOT DISTINCT FROM ? THEN email_verified_at ELSE 0 END")
		args = append(args, Null(deref(c.EmailCanon)))
		set("email", Null(*c.Email))
		set("email_canon", Null(deref(c.EmailCanon)))
	}
	for _, f := range []struct {
		col string
		v   *string
	}{
		{"full_name", c.FullName}, {"phone", c.Phone}, {"website", c.Website},
		{"external_id", c.ExternalID}, {"custom_data", c.CustomData}, {"avatar_uid", c.AvatarUID},
	} {
		if f.v != nil {
			set(f.col, *f.v)
		}
	}
	if c.Tags != nil {
		set("tags", tags(*c.Tags))
	}
	if c.PasswordHash != nil {
		set("password_hash", Null(*c.PasswordHash))
	}
	return strings.Join(sets, ", "), args
}

// Null stores "" as NULL, for the nullable unique columns (login, email) and the password hash.
func Null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Found is the stored user an imported user's insert collided with, as read back by the store.
type Found struct {
	ID           int64
	LoginCanon   string // "" when NULL
	EmailCanon   string // "" when NULL
	PasswordHash string // "" when NULL
	CreatedAt    int64  // Unix milliseconds, as stored
}

// Judge tells whether f, found holding a key of u (field: the key, "id", "login" or "email"),
// is u imported before (an import run again: [store.ImportExisting] with f's id) or another user
// ([store.ImportConflict] on field). It is u when it has u's canonical login and email, u's id
// when u names one, and one more mark of the same record: the same id, the same password hash
// or the same creation time. A different user who merely took the same login is a conflict,
// never silently reported as imported.
func Judge(u store.User, f Found, field string) store.ImportResult {
	same := u.ID == f.ID || f.PasswordHash == u.PasswordHash || f.CreatedAt == unixms.Of(u.CreatedAt)
	if f.LoginCanon == u.LoginCanon && f.EmailCanon == u.EmailCanon && (u.ID == 0 || u.ID == f.ID) && same {
		return store.ImportResult{Status: store.ImportExisting, ID: f.ID}
	}
	return store.ImportResult{Status: store.ImportConflict, Field: field}
}

// Probe is a look-up of the stored user holding one key of an imported user: SQL, with one
// '?' for Arg, selects the columns of [Found] in order (scan them with [Found.Dest]).
type Probe struct {
	Field string // "id", "login" or "email"
	SQL   string
	Arg   any
}

const found = `SELECT id, coalesce(login_canon, ''), coalesce(email_canon, ''), coalesce(password_hash, ''), created_at FROM users WHERE `

// Probes returns the look-ups of the keys u has (its id when it names one, its canonical login
// and email when not empty), in that order: the order in which a conflict is reported.
func Probes(u store.User) []Probe {
	var ps []Probe
	if u.ID != 0 {
		ps = append(ps, Probe{"id", found + "id = ?", u.ID})
	}
	if u.LoginCanon != "" {
		ps = append(ps, Probe{"login", found + "login_canon = ?", u.LoginCanon})
	}
	if u.EmailCanon != "" {
		ps = append(ps, Probe{"email", found + "email_canon = ?", u.EmailCanon})
	}
	return ps
}

// Dest returns the scan destinations of a Probe's row.
func (f *Found) Dest() []any {
	return []any{&f.ID, &f.LoginCanon, &f.EmailCanon, &f.PasswordHash, &f.CreatedAt}
}

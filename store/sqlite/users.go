package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/internal/usersql"
)

const userColumns = `id, login, login_canon, email, email_canon, password_hash, full_name, phone,
	website, external_id, tags, custom_data, avatar_uid, created_at, updated_at, last_request_at, disabled, email_verified_at`

// insertUser is the one INSERT of a user row.
const insertUser = `INSERT INTO users (login, login_canon, email, email_canon, password_hash,
	full_name, phone, website, external_id, tags, custom_data, avatar_uid,
	created_at, updated_at, last_request_at, email_verified_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// createUser inserts u and its tags and returns its id.
func createUser(tx *wtx, u store.User) (int64, error) {
	var id int64
	err := tx.queryRow(insertUser,
		usersql.Null(u.Login), usersql.Null(u.LoginCanon), usersql.Null(u.Email), usersql.Null(u.EmailCanon),
		usersql.Null(u.PasswordHash), u.FullName, u.Phone, u.Website, u.ExternalID,
		strings.Join(u.Tags, ","), u.CustomData, u.AvatarUID,
		ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.LastRequestAt), msOrZero(u.EmailVerifiedAt)).Scan(&id)
	if err != nil {
		return 0, conflict(tx, err, u.LoginCanon, u.EmailCanon, 0)
	}
	return id, insertTags(tx, id, u.Tags)
}

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u store.User) (int64, error) {
	var id int64
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		id, err = createUser(tx, u)
		return err
	})
	return id, wrap("create user", err)
}

func insertTags(tx *wtx, userID int64, tags []string) error {
	for _, tag := range tags {
		if _, err := tx.exec(`INSERT INTO user_tags (tag, user_id) VALUES (?, ?)`, tag, userID); err != nil {
			return err
		}
	}
	return nil
}

// conflict turns a UNIQUE failure into a *store.ConflictError naming the column. SQLite names
// the column only in the message text, so instead of parsing it this probes each unique column
// inside the same transaction. self is the id of the user being updated (0 on insert).
func conflict(tx *wtx, err error, loginCanon, emailCanon string, self int64) error {
	if errCode(err) != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return err
	}
	probes := []struct{ field, q, v string }{
		{"login", `SELECT 1 FROM users WHERE login_canon = ? AND id <> ?`, loginCanon},
		{"email", `SELECT 1 FROM users WHERE email_canon = ? AND id <> ?`, emailCanon},
	}
	for _, p := range probes {
		if p.v == "" {
			continue
		}
		var one int
		switch perr := tx.queryRow(p.q, p.v, self).Scan(&one); {
		case perr == nil:
			return &store.ConflictError{Field: p.field}
		case !errors.Is(perr, sql.ErrNoRows):
			return perr
		}
	}
	return err
}

// User implements [store.Store].
func (s *Store) User(ctx context.Context, id int64) (store.User, error) {
	return s.userWhere(ctx, "user", `id = ?`, id)
}

// UserByLogin implements [store.Store].
func (s *Store) UserByLogin(ctx context.Context, loginCanon string) (store.User, error) {
	return s.userWhere(ctx, "user by login", `login_canon = ?`, loginCanon)
}

// UserByEmail implements [store.Store].
func (s *Store) UserByEmail(ctx context.Context, emailCanon string) (store.User, error) {
	return s.userWhere(ctx, "user by email", `email_canon = ?`, emailCanon)
}

// userWhere reads the one user matching where (a constant condition with one parameter).
func (s *Store) userWhere(ctx context.Context, op, where string, arg any) (store.User, error) {
	return s.readUser(ctx, op, `SELECT `+userColumns+` FROM users WHERE `+where, arg)
}

// readUser runs q, which selects userColumns, for its one row.
func (s *Store) readUser(ctx context.Context, op, q string, args ...any) (store.User, error) {
	var u store.User
	err := s.readRow(ctx, q, args, func(r row) error { u = userOf(r); return nil })
	return u, wrap(op, notFound(err))
}

// userOf decodes a row of userColumns (or a list's columns, whose hash and canonical forms
// are NULL).
func userOf(r row) store.User {
	u := store.User{
		ID: r.Int64(0), Login: r.Text(1), LoginCanon: r.Text(2), Email: r.Text(3), EmailCanon: r.Text(4),
		PasswordHash: r.Text(5), FullName: r.Text(6), Phone: r.Text(7), Website: r.Text(8),
		ExternalID: r.Text(9), CustomData: r.Text(11), AvatarUID: r.Text(12),
		CreatedAt: fromMS(r.Int64(13)), UpdatedAt: fromMS(r.Int64(14)), LastRequestAt: fromMS(r.Int64(15)),
		Disabled: r.Int64(16) != 0, EmailVerifiedAt: fromMSOrZero(r.Int64(17)),
	}
	if tags := r.Text(10); tags != "" {
		u.Tags = strings.Split(tags, ",")
	}
	return u
}

// UserByPhone implements [store.Store].
func (s *Store) UserByPhone(ctx context.Context, phone string) (store.User, error) {
	digits := strings.TrimPrefix(phone, "+")
	// min(id) over the index of the digits (users_phone_digits): one seek, whichever form was
	// stored. ORDER BY id LIMIT 1 could make SQLite walk the whole table in id order instead.
	return s.userWhere(ctx, "user by phone", `id = (SELECT min(id) FROM users WHERE ltrim(phone, '+') = ? AND phone <> '')`, digits)
}

// UserByExternalID implements [store.Store].
func (s *Store) UserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	return s.userWhere(ctx, "user by external id", `id = (SELECT min(id) FROM users WHERE external_id = ? AND external_id <> '')`, externalID)
}

// sessionActsFor checks, inside a write, that the session still acts for the user: a write
// validated before a revocation must not commit after it.
func sessionActsFor(tx *wtx, sessionHash [32]byte, userID int64) error {
	var one int
	err := tx.queryRow(`SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ?`, sessionHash[:], userID).Scan(&one)
	return notFound(err)
}

// UpdateUser implements [store.Store].
func (s *Store) UpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	var (
		u       store.User
		revoked [][32]byte
	)
	update, args := userUpdate(c)

	err := s.w.do(ctx, func(tx *wtx) error {
		revoked = nil
		if err := sessionActsFor(tx, c.SessionHash, c.UserID); err != nil {
			return err
		}
		if c.AvatarUID != nil {
			if err := setAvatar(tx, c.UserID, *c.AvatarUID); err != nil {
				return err
			}
		}
		if c.PasswordHash != nil {
			var current sql.NullString
			if err := tx.queryRow(`SELECT password_hash FROM users WHERE id = ?`, c.UserID).Scan(&current); err != nil {
				return notFound(err)
			}
			if current.String != c.OldPasswordHash {
				return store.ErrStale
			}
		}
		if err := affected(tx.exec(update, args...)); err != nil {
			return conflict(tx, err, deref(c.LoginCanon), deref(c.EmailCanon), c.UserID)
		}
		if c.Tags != nil {
			if _, err := tx.exec(`DELETE FROM user_tags WHERE user_id = ?`, c.UserID); err != nil {
				return err
			}
			if err := insertTags(tx, c.UserID, *c.Tags); err != nil {
				return err
			}
		}
		if c.PasswordHash != nil {
			var err error
			if revoked, err = deleteSessions(tx, `user_id = ? AND token_hash <> ?`, c.UserID, c.SessionHash[:]); err != nil {
				return err
			}
		}
		if c.PasswordHash != nil || c.Email != nil {
			if _, err := tx.exec(`DELETE FROM reset_tokens WHERE user_id = ?`, c.UserID); err != nil {
				return err
			}
		}
		return tx.readRow(`SELECT `+userColumns+` FROM users WHERE id = ?`, []any{c.UserID},
			func(r row) error { u = userOf(r); return nil })
	})
	return u, revoked, wrap("update user", err)
}

// setAvatar checks a new avatar (a complete file of the user) and deletes the file it replaces.
func setAvatar(tx *wtx, userID int64, uid string) error {
	if uid != "" {
		var one int
		err := tx.queryRow(`SELECT 1 FROM files WHERE uid = ? AND owner_id = ? AND complete = 1`, uid, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrInvalidAvatar
		}
		if err != nil {
			return err
		}
	}
	_, err := tx.exec(`DELETE FROM files WHERE owner_id = ? AND uid = (SELECT avatar_uid FROM users WHERE id = ?) AND uid <> ?`,
		userID, userID, uid)
	return err
}

// DeleteUser implements [store.Store].
func (s *Store) DeleteUser(ctx context.Context, sessionHash [32]byte, userID int64) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.w.do(ctx, func(tx *wtx) error {
		if err := sessionActsFor(tx, sessionHash, userID); err != nil {
			return err
		}
		var err error
		if revoked, err = deleteSessions(tx, `user_id = ?`, userID); err != nil {
			return err
		}
		// user_tags go by ON DELETE CASCADE; the counters by trigger.
		return affected(tx.exec(`DELETE FROM users WHERE id = ?`, userID))
	})
	return revoked, wrap("delete user", err)
}

// deleteSessions revokes the sessions matching where (constant text): it leaves their
// tombstones, deletes them and returns their hashes.
func deleteSessions(tx *wtx, where string, args ...any) ([][32]byte, error) {
	if err := tombstone(tx, where, args...); err != nil {
		return nil, err
	}
	var hashes [][32]byte
	err := tx.query(`DELETE FROM sessions WHERE `+where+` RETURNING token_hash`, args, func(r row) error {
		var h [32]byte
		copy(h[:], r.Blob(0))
		hashes = append(hashes, h)
		return nil
	})
	return hashes, err
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ImportUsers inserts users in one transaction per call, for seeding and bulk imports; it is not
// part of [store.Store]. Their ids are assigned in order and returned. A taken login or email
// fails the whole call with a *store.ConflictError.
func (s *Store) ImportUsers(ctx context.Context, users []store.User) ([]int64, error) {
	ids := make([]int64, len(users))
	err := s.w.do(ctx, func(tx *wtx) error {
		for i, u := range users {
			var err error
			if ids[i], err = createUser(tx, u); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, wrap("import users", err)
}

// userUpdate returns the UPDATE statement of a UserChange and its arguments (the user id last),
// shared by UpdateUser and AdminUpdateUser.
func userUpdate(c store.UserChange) (string, []any) {
	sets, args := usersql.Sets(c, func(tags []string) any { return strings.Join(tags, ",") })
	update := `UPDATE users SET ` + sets + ` WHERE id = ?`
	args = append(args, c.UserID)
	return update, args
}

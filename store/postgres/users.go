package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/internal/usersql"
)

// userColumnsU are a user's columns, aliased u; the nullable ones read as "".
const userColumnsU = `u.id, coalesce(u.login, ''), coalesce(u.login_canon, ''), coalesce(u.email, ''),
	coalesce(u.email_canon, ''), coalesce(u.password_hash, ''), u.full_name, u.phone, u.website,
	u.external_id, u.tags, u.custom_data, u.avatar_uid, u.created_at, u.updated_at, u.last_request_at,
	u.disabled, u.email_verified_at`

// listColumnsU is userColumnsU without the password hash, which lists never return.
var listColumnsU = strings.Replace(userColumnsU, "coalesce(u.password_hash, '')", "''", 1)

// listColumnsNoCanon is listColumnsU without the canonical login and email either (they serve
// only cursors of those sorts).
var listColumnsNoCanon = strings.NewReplacer("coalesce(u.login_canon, '')", "''", "coalesce(u.email_canon, '')", "''").Replace(listColumnsU)

// scanUser decodes a row of userColumnsU (or of a list's columns).
func scanUser(row pgx.Row) (store.User, error) {
	var (
		u                     store.User
		created, updated, req int64
		verified              int64
	)
	err := row.Scan(&u.ID, &u.Login, &u.LoginCanon, &u.Email, &u.EmailCanon, &u.PasswordHash, &u.FullName,
		&u.Phone, &u.Website, &u.ExternalID, &u.Tags, &u.CustomData, &u.AvatarUID, &created, &updated, &req,
		&u.Disabled, &verified)
	if verified != 0 {
		u.EmailVerifiedAt = fromMS(verified)
	}
	if len(u.Tags) == 0 {
		u.Tags = nil
	}
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = fromMS(created), fromMS(updated), fromMS(req)
	return u, err
}

// tagsOf stores no tags as an empty array, never NULL.
func tagsOf(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// createUser inserts u and returns its id.
func createUser(ctx context.Context, tx pgx.Tx, u store.User) (int64, error) {
	var id int64
	err := queryRow(ctx, tx, `INSERT INTO users (login, login_canon, email, email_canon, password_hash,
		full_name, phone, website, external_id, tags, custom_data, avatar_uid,
		created_at, updated_at, last_request_at, email_verified_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		usersql.Null(u.Login), usersql.Null(u.LoginCanon), usersql.Null(u.Email), usersql.Null(u.EmailCanon),
		usersql.Null(u.PasswordHash), u.FullName, u.Phone, u.Website, u.ExternalID,
		tagsOf(u.Tags), u.CustomData, u.AvatarUID,
		ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.LastRequestAt), msOrZero(u.EmailVerifiedAt)).Scan(&id)
	return id, err
}

// CreateUser implements [store.Users].
func (s *Store) CreateUser(ctx context.Context, u store.User) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) (err error) {
		id, err = createUser(ctx, tx, u)
		return err
	})
	return id, wrap("create user", err)
}

// User implements [store.Users].
func (s *Store) User(ctx context.Context, id int64) (store.User, error) {
	return s.userWhere(ctx, "user", `u.id = ?`, id)
}

// UserByLogin implements [store.Users].
func (s *Store) UserByLogin(ctx context.Context, loginCanon string) (store.User, error) {
	return s.userWhere(ctx, "user by login", `u.login_canon = ?`, loginCanon)
}

// UserByEmail implements [store.Users].
func (s *Store) UserByEmail(ctx context.Context, emailCanon string) (store.User, error) {
	return s.userWhere(ctx, "user by email", `u.email_canon = ?`, emailCanon)
}

// UserByPhone implements [store.Queries].
func (s *Store) UserByPhone(ctx context.Context, phone string) (store.User, error) {
	digits := strings.TrimPrefix(phone, "+")
	return s.userWhere(ctx, "user by phone", `u.id = (SELECT min(id) FROM users WHERE ltrim(phone, '+') = ? AND phone <> '')`, digits)
}

// UserByExternalID implements [store.Queries].
func (s *Store) UserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	return s.userWhere(ctx, "user by external id", `u.id = (SELECT min(id) FROM users WHERE external_id = ? AND external_id <> '')`, externalID)
}

// userWhere reads the one user matching where (a constant condition with one parameter).
func (s *Store) userWhere(ctx context.Context, op, where string, arg any) (store.User, error) {
	u, err := scanUser(queryRow(ctx, s.pool, `SELECT `+userColumnsU+` FROM users u WHERE `+where, arg))
	return u, wrap(op, err)
}

// SetPasswordHash implements [store.Users].
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, old, new string) error {
	return wrap("set password hash", s.tx(ctx, func(tx pgx.Tx) error {
		var current *string
		if err := queryRow(ctx, tx, `SELECT password_hash FROM users WHERE id = ? FOR UPDATE`, userID).Scan(&current); err != nil {
			return err
		}
		if deref(current) != old {
			return store.ErrStale
		}
		_, err := exec(ctx, tx, `UPDATE users SET password_hash = ? WHERE id = ?`, usersql.Null(new), userID)
		return err
	}))
}

// UpdateUser implements [store.Users].
func (s *Store) UpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	var (
		u       store.User
		revoked [][32]byte
	)
	sets, args := usersql.Sets(c, tagsArg)
	args = append(args, c.UserID)
	if c.PasswordHash == nil && c.AvatarUID == nil && c.Email == nil {
		// The common change (a name, a phone, tags, ...) is one statement (see [Store.one]):
		// the session's row is locked for share until the commit, as sessionActsFor does in
		// a transaction, and no user row is returned when it no longer acts for the user.
		update := `UPDATE users AS u SET ` + sets + ` WHERE u.id = ?
			AND EXISTS (SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ? FOR SHARE)
			RETURNING ` + userColumnsU
		args = append(args, c.SessionHash[:], c.UserID)
		err := s.one(ctx, func(q querier) error {
			var err error
			u, err = scanUser(queryRow(ctx, q, update, args...))
			return err
		})
		return u, nil, wrap("update user", err)
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		revoked = nil
		if err := sessionActsFor(ctx, tx, c.SessionHash, c.UserID); err != nil {
			return err
		}
		// With a password or an avatar, lock the user first: the password check and the
		// avatar's file stay as read until the commit. Other changes need no read before the
		// update, which returns the user as updated.
		if c.PasswordHash != nil || c.AvatarUID != nil {
			var current *string
			if err := queryRow(ctx, tx, `SELECT password_hash FROM users WHERE id = ? FOR UPDATE`, c.UserID).Scan(&current); err != nil {
				return err
			}
			if c.AvatarUID != nil {
				if err := setAvatar(ctx, tx, c.UserID, *c.AvatarUID); err != nil {
					return err
				}
			}
			if c.PasswordHash != nil && deref(current) != c.OldPasswordHash {
				return store.ErrStale
			}
		}
		update := `UPDATE users AS u SET ` + sets + ` WHERE u.id = ? RETURNING ` + userColumnsU
		var err error
		if u, err = scanUser(queryRow(ctx, tx, update, args...)); err != nil {
			return err
		}
		if c.PasswordHash != nil {
			if revoked, err = revokeSessions(ctx, tx, `user_id = ? AND token_hash <> ?`, c.UserID, c.SessionHash[:]); err != nil {
				return err
			}
			if err := s.notify(ctx, tx, revoked...); err != nil {
				return err
			}
		}
		if c.PasswordHash != nil || c.Email != nil {
			if _, err := exec(ctx, tx, `DELETE FROM reset_tokens WHERE user_id = ?`, c.UserID); err != nil {
				return err
			}
		}
		return nil
	})
	return u, revoked, wrap("update user", err)
}

// setAvatar checks a new avatar (a complete file of the user) and deletes the file it replaces.
func setAvatar(ctx context.Context, tx pgx.Tx, userID int64, uid string) error {
	if uid != "" {
		var one int
		err := queryRow(ctx, tx, `SELECT 1 FROM files WHERE uid = ? AND owner_id = ? AND complete FOR SHARE`, uid, userID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrInvalidAvatar
		}
		if err != nil {
			return err
		}
	}
	_, err := exec(ctx, tx, `DELETE FROM files WHERE owner_id = ? AND uid = (SELECT avatar_uid FROM users WHERE id = ?) AND uid <> ?`,
		userID, userID, uid)
	return err
}

// DeleteUser implements [store.Users].
func (s *Store) DeleteUser(ctx context.Context, sessionHash [32]byte, userID int64) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := sessionActsFor(ctx, tx, sessionHash, userID); err != nil {
			return err
		}
		var err error
		if revoked, err = revokeSessions(ctx, tx, `user_id = ?`, userID); err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `DELETE FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		return s.notify(ctx, tx, revoked...)
	})
	return revoked, wrap("delete user", err)
}

// tagsArg is the argument of the tags column: a text[] (never NULL).
func tagsArg(tags []string) any { return tagsOf(tags) }

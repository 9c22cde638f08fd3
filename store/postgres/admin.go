package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/internal/usersql"
)

var _ store.Admin = (*Store)(nil)

// AdminUpdateUser implements [store.Admin].
func (s *Store) AdminUpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	var (
		u       store.User
		revoked [][32]byte
	)
	sets, args := usersql.Sets(c, tagsArg)
	update := `UPDATE users SET ` + sets + ` WHERE id = ?`
	args = append(args, c.UserID)

	err := s.tx(ctx, func(tx pgx.Tx) error {
		revoked = nil
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? FOR UPDATE`, c.UserID).Scan(&one); err != nil {
			return err
		}
		if c.AvatarUID != nil {
			if err := setAvatar(ctx, tx, c.UserID, *c.AvatarUID); err != nil {
				return err
			}
		}
		if err := affected(exec(ctx, tx, update, args...)); err != nil {
			return err
		}
		if c.PasswordHash != nil {
			var err error
			if revoked, err = revokeSessions(ctx, tx, `user_id = ?`, c.UserID); err != nil {
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
		var err error
		u, err = scanUser(queryRow(ctx, tx, `SELECT `+userColumnsU+` FROM users u WHERE u.id = ?`, c.UserID))
		return err
	})
	return u, revoked, wrap("admin update user", err)
}

// AdminDeleteUser implements [store.Admin].
func (s *Store) AdminDeleteUser(ctx context.Context, userID int64) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if revoked, err = revokeSessions(ctx, tx, `user_id = ?`, userID); err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `DELETE FROM users WHERE id = ?`, userID)); err != nil {
			return err
		}
		return s.notify(ctx, tx, revoked...)
	})
	return revoked, wrap("admin delete user", err)
}

// SetUserDisabled implements [store.Admin].
func (s *Store) SetUserDisabled(ctx context.Context, userID int64, disabled bool, at time.Time) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		revoked = nil
		if err := affected(exec(ctx, tx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, disabled, ms(at), userID)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		var err error
		if revoked, err = revokeSessions(ctx, tx, `user_id = ?`, userID); err != nil {
			return err
		}
		return s.notify(ctx, tx, revoked...)
	})
	return revoked, wrap("set user disabled", err)
}

// RevokeUserSessions implements [store.Admin].
func (s *Store) RevokeUserSessions(ctx context.Context, userID int64) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if revoked, err = revokeSessions(ctx, tx, `user_id = ?`, userID); err != nil {
			return err
		}
		return s.notify(ctx, tx, revoked...)
	})
	return revoked, wrap("revoke user sessions", err)
}

// AllUsers implements [store.Admin].
func (s *Store) AllUsers(ctx context.Context, afterID int64, limit int) ([]store.User, error) {
	users := make([]store.User, 0, max(0, min(limit, 10_000)))
	err := query(ctx, s.pool, `SELECT `+userColumnsU+` FROM users u WHERE u.id > ? ORDER BY u.id LIMIT ?`,
		[]any{afterID, limit}, func(r pgx.Rows) error {
			u, err := scanUser(r)
			users = append(users, u)
			return err
		})
	return users, wrap("all users", err)
}

// Counts implements [store.Admin].
func (s *Store) Counts(ctx context.Context, idleSince, startedSince time.Time) (store.Counts, error) {
	var c store.Counts
	err := queryRow(ctx, s.pool, `SELECT
		(SELECT count(*) FROM users),
		(SELECT count(*) FROM users WHERE disabled),
		(SELECT count(*) FROM sessions WHERE last_request_at >= $1
			AND (CASE WHEN user_id IS NULL THEN created_at ELSE signed_in_at END) >= $2),
		(SELECT count(*) FROM sessions WHERE user_id IS NOT NULL AND last_request_at >= $1 AND signed_in_at >= $2),
		(SELECT count(*) FROM files WHERE complete),
		(SELECT coalesce(sum(size), 0)::bigint FROM files WHERE complete)`,
		ms(idleSince), ms(startedSince)).Scan(&c.Users, &c.DisabledUsers, &c.Sessions, &c.UserSessions, &c.Files, &c.FileBytes)
	return c, wrap("counts", err)
}

// The inserts of InsertUsers: with the user's own id, or with a new one; nothing when the id,
// the canonical login or the canonical email is taken.
const (
	insertUserWithID = `INSERT INTO users (id, login, login_canon, email, email_canon, password_hash,
		full_name, phone, website, external_id, tags, custom_data, avatar_uid,
		created_at, updated_at, last_request_at, disabled)
		OVERRIDING SYSTEM VALUE
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT DO NOTHING RETURNING id`
	insertUserNewID = `INSERT INTO users (login, login_canon, email, email_canon, password_hash,
		full_name, phone, website, external_id, tags, custom_data, avatar_uid,
		created_at, updated_at, last_request_at, disabled)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT DO NOTHING RETURNING id`
)

// InsertUsers implements [store.Admin]. Ids given are kept, and the id sequence is moved past
// the largest, so that ids are still never reused.
func (s *Store) InsertUsers(ctx context.Context, users []store.User, stopAtConflict bool) ([]store.ImportResult, error) {
	var results []store.ImportResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		results = make([]store.ImportResult, 0, len(users))
		// Move the sequence first, so that the users of this call without an id come after.
		var maxID int64
		for _, u := range users {
			maxID = max(maxID, u.ID)
		}
		if maxID > 0 {
			_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'),
				greatest($1, coalesce(pg_sequence_last_value(pg_get_serial_sequence('users', 'id')::regclass), 0)))`, maxID)
			if err != nil {
				return err
			}
		}
		for _, u := range users {
			q := insertUserNewID
			if u.ID != 0 {
				q = insertUserWithID
			}
			args := []any{u.ID, usersql.Null(u.Login), usersql.Null(u.LoginCanon), usersql.Null(u.Email), usersql.Null(u.EmailCanon),
				usersql.Null(u.PasswordHash), u.FullName, u.Phone, u.Website, u.ExternalID,
				tagsOf(u.Tags), u.CustomData, u.AvatarUID,
				ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.LastRequestAt), u.Disabled}
			if u.ID == 0 {
				args = args[1:] // insertUserNewID numbers the others from $1
			}
			var id int64
			err := tx.QueryRow(ctx, q, args...).Scan(&id)
			if err == nil {
				results = append(results, store.ImportResult{Status: store.ImportInserted, ID: id})
				continue
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			r, err := existingUser(ctx, tx, u)
			if err != nil {
				return err
			}
			results = append(results, r)
			if r.Status == store.ImportConflict && stopAtConflict {
				break
			}
		}
		return nil
	})
	return results, wrap("insert users", err)
}

// existingUser tells, for a user whose insert did nothing, whether it is there already or
// collides with another user (see [store.Admin.InsertUsers]).
func existingUser(ctx context.Context, tx pgx.Tx, u store.User) (store.ImportResult, error) {
	for _, p := range usersql.Probes(u) {
		var f usersql.Found
		err := queryRow(ctx, tx, p.SQL, p.Arg).Scan(f.Dest()...)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return store.ImportResult{}, err
		}
		return usersql.Judge(u, f, p.Field), nil
	}
	return store.ImportResult{}, errors.New("postgres: insert users: insert ignored without a conflict")
}

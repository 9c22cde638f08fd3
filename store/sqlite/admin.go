package sqlite

import (
	"context"
	"time"

	"github.com/authcube/authcube/store"
)

var _ store.Admin = (*Store)(nil)

// AdminUpdateUser implements [store.Admin].
func (s *Store) AdminUpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	var (
		u       store.User
		revoked [][32]byte
	)
	update, args := userUpdate(c)

	err := s.w.do(ctx, func(tx *wtx) error {
		revoked = nil
		if c.AvatarUID != nil {
			if err := setAvatar(tx, c.UserID, *c.AvatarUID); err != nil {
				return err
			}
		}
		if err := affected(tx.exec(update, args...)); err != nil {
			return conflict(tx, notFound(err), deref(c.LoginCanon), deref(c.EmailCanon), c.UserID)
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
			if revoked, err = deleteSessions(tx, `user_id = ?`, c.UserID); err != nil {
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
	return u, revoked, wrap("admin update user", err)
}

// AdminDeleteUser implements [store.Admin].
func (s *Store) AdminDeleteUser(ctx context.Context, userID int64) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		if revoked, err = deleteSessions(tx, `user_id = ?`, userID); err != nil {
			return err
		}
		return affected(tx.exec(`DELETE FROM users WHERE id = ?`, userID))
	})
	return revoked, wrap("admin delete user", err)
}

// SetUserDisabled implements [store.Admin].
func (s *Store) SetUserDisabled(ctx context.Context, userID int64, disabled bool, at time.Time) ([][32]byte, error) {
	var revoked [][32]byte
	flag := 0
	if disabled {
		flag = 1
	}
	err := s.w.do(ctx, func(tx *wtx) error {
		revoked = nil
		if err := affected(tx.exec(`UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`, flag, ms(at), userID)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		var err error
		revoked, err = deleteSessions(tx, `user_id = ?`, userID)
		return err
	})
	return revoked, wrap("set user disabled", err)
}

// RevokeUserSessions implements [store.Admin].
func (s *Store) RevokeUserSessions(ctx context.Context, userID int64) ([][32]byte, error) {
	var revoked [][32]byte
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		revoked, err = deleteSessions(tx, `user_id = ?`, userID)
		return err
	})
	return revoked, wrap("revoke user sessions", err)
}

// AllUsers implements [store.Admin].
func (s *Store) AllUsers(ctx context.Context, afterID int64, limit int) ([]store.User, error) {
	users := make([]store.User, 0, max(0, min(limit, 10_000)))
	err := s.read(ctx, `SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, []any{afterID, limit},
		func(r row) error { users = append(users, userOf(r)); return nil })
	return users, wrap("all users", err)
}

// Counts implements [store.Admin].
func (s *Store) Counts(ctx context.Context, idleSince, startedSince time.Time) (store.Counts, error) {
	var c store.Counts
	err := s.readRow(ctx, `SELECT
		(SELECT n FROM counters WHERE name = 'users'),
		(SELECT count(*) FROM users WHERE disabled <> 0),
		(SELECT count(*) FROM sessions WHERE last_request_at >= ?1
			AND (CASE WHEN user_id IS NULL THEN created_at ELSE signed_in_at END) >= ?2),
		(SELECT count(*) FROM sessions WHERE user_id IS NOT NULL AND last_request_at >= ?1 AND signed_in_at >= ?2),
		(SELECT count(*) FROM files WHERE complete = 1),
		(SELECT coalesce(sum(size), 0) FROM files WHERE complete = 1)`,
		[]any{ms(idleSince), ms(startedSince)}, func(r row) error {
			c = store.Counts{Users: r.Int64(0), DisabledUsers: r.Int64(1), Sessions: r.Int64(2),
				UserSessions: r.Int64(3), Files: r.Int64(4), FileBytes: r.Int64(5)}
			return nil
		})
	return c, wrap("counts", err)
}

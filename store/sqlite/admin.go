package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

// insertUserOrNothing inserts a user with its id when it has one, and nothing when the id, the
// canonical login or the canonical email is taken.
const insertUserOrNothing = `INSERT INTO users (id, login, login_canon, email, email_canon, password_hash,
	full_name, phone, website, external_id, tags, custom_data, avatar_uid,
	created_at, updated_at, last_request_at, disabled)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`

// InsertUsers implements [store.Admin].
func (s *Store) InsertUsers(ctx context.Context, users []store.User, stopAtConflict bool) ([]store.ImportResult, error) {
	var results []store.ImportResult
	err := s.w.do(ctx, func(tx *wtx) error {
		results = make([]store.ImportResult, 0, len(users))
		for _, u := range users {
			disabled := 0
			if u.Disabled {
				disabled = 1
			}
			var id int64
			err := tx.queryRow(insertUserOrNothing, nullID(u.ID),
				nullString(u.Login), nullString(u.LoginCanon), nullString(u.Email), nullString(u.EmailCanon),
				nullString(u.PasswordHash), u.FullName, u.Phone, u.Website, u.ExternalID,
				strings.Join(u.Tags, ","), u.CustomData, u.AvatarUID,
				ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.LastRequestAt), disabled).Scan(&id)
			switch {
			case err == nil:
				if err := insertTags(tx, id, u.Tags); err != nil {
					return err
				}
				results = append(results, store.ImportResult{Status: store.ImportInserted, ID: id})
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			r, err := existingUser(tx, u)
			if err != nil {
				return err
			}
			results = append(results, r)
			if r.Status == store.ImportConflict && stopAtConflict {
				return nil
			}
		}
		return nil
	})
	return results, wrap("insert users", err)
}

// existingUser tells, for a user whose insert did nothing, whether it is there already or
// collides with another user (see [store.Admin.InsertUsers]).
func existingUser(tx *wtx, u store.User) (store.ImportResult, error) {
	probes := []struct{ field, q string }{
		{"id", `SELECT id, coalesce(login_canon, ''), coalesce(email_canon, ''), coalesce(password_hash, ''), created_at FROM users WHERE id = ?`},
		{"login", `SELECT id, coalesce(login_canon, ''), coalesce(email_canon, ''), coalesce(password_hash, ''), created_at FROM users WHERE login_canon = ?`},
		{"email", `SELECT id, coalesce(login_canon, ''), coalesce(email_canon, ''), coalesce(password_hash, ''), created_at FROM users WHERE email_canon = ?`},
	}
	args := []any{u.ID, u.LoginCanon, u.EmailCanon}
	for i, p := range probes {
		if (i == 0 && u.ID == 0) || (i > 0 && args[i] == "") {
			continue
		}
		var (
			id                 int64
			login, email, hash string
			created            int64
		)
		err := tx.queryRow(p.q, args[i]).Scan(&id, &login, &email, &hash, &created)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return store.ImportResult{}, err
		}
		same := u.ID == id || hash == u.PasswordHash || created == ms(u.CreatedAt)
		if login == u.LoginCanon && email == u.EmailCanon && (u.ID == 0 || u.ID == id) && same {
			return store.ImportResult{Status: store.ImportExisting, ID: id}, nil
		}
		return store.ImportResult{Status: store.ImportConflict, Field: p.field}, nil
	}
	return store.ImportResult{}, errors.New("sqlite: insert users: insert ignored without a conflict")
}

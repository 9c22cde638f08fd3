package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authcube/authcube/store"
)

const sessionColumns = `token_hash, id, app_id, user_id, provider, created_at, signed_in_at, last_request_at`

// CreateSession implements [store.Store].
func (s *Store) CreateSession(ctx context.Context, se store.Session, verifiedHash string) error {
	return wrap("create session", s.w.do(ctx, func(tx *wtx) error {
		if err := passwordStill(tx, se.UserID, verifiedHash); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			se.TokenHash[:], se.ID, se.AppID, nullID(se.UserID), se.Provider,
			ms(se.CreatedAt), ms(se.SignedInAt), ms(se.LastRequestAt))
		return userMissing(err)
	}))
}

// Session implements [store.Store].
func (s *Store) Session(ctx context.Context, tokenHash [32]byte) (store.Session, error) {
	var se store.Session
	err := s.readRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, []any{tokenHash[:]},
		func(r row) (err error) {
			se, err = scanSession(r)
			return err
		})
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		terr := s.readRow(ctx, `SELECT 1 FROM revoked_sessions WHERE token_hash = ?`, []any{tokenHash[:]},
			func(r row) error { return r.Scan(&one) })
		switch {
		case terr == nil:
			return se, store.ErrRevoked
		case !errors.Is(terr, sql.ErrNoRows):
			err = terr
		}
	}
	return se, wrap("session", notFound(err))
}

// tombstone records the sessions matching where (constant text) as revoked (S33), in the
// transaction that deletes them.
func tombstone(tx *wtx, where string, args ...any) error {
	_, err := tx.exec(`INSERT OR IGNORE INTO revoked_sessions (token_hash, started_at)
		SELECT token_hash, CASE WHEN user_id IS NULL THEN created_at ELSE signed_in_at END
		FROM sessions WHERE `+where, args...)
	return err
}

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var (
		se                     store.Session
		hash                   []byte
		userID                 sql.NullInt64
		created, signedIn, req int64
	)
	if err := row.Scan(&hash, &se.ID, &se.AppID, &userID, &se.Provider, &created, &signedIn, &req); err != nil {
		return store.Session{}, err
	}
	copy(se.TokenHash[:], hash)
	se.UserID = userID.Int64
	se.CreatedAt, se.SignedInAt, se.LastRequestAt = fromMS(created), fromMS(signedIn), fromMS(req)
	return se, nil
}

// TouchSession implements [store.Store].
func (s *Store) TouchSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	return wrap("touch session", s.w.do(ctx, func(tx *wtx) error {
		var userID sql.NullInt64
		err := tx.queryRow(`UPDATE sessions SET last_request_at = max(last_request_at, ?)
			WHERE token_hash = ? RETURNING user_id`, ms(at), tokenHash[:]).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		if userID.Valid {
			_, err = tx.exec(`UPDATE users SET last_request_at = max(last_request_at, ?) WHERE id = ?`, ms(at), userID.Int64)
		}
		return err
	}))
}

// SignInSession implements [store.Store].
func (s *Store) SignInSession(ctx context.Context, tokenHash [32]byte, userID int64, provider, verifiedHash string, at time.Time) error {
	return wrap("sign in session", s.w.do(ctx, func(tx *wtx) error {
		if err := passwordStill(tx, userID, verifiedHash); err != nil {
			return err
		}
		err := affected(tx.exec(`UPDATE sessions SET user_id = ?, provider = ?, signed_in_at = ?,
			last_request_at = max(last_request_at, ?) WHERE token_hash = ?`,
			userID, provider, ms(at), ms(at), tokenHash[:]))
		if err := userMissing(err); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE users SET last_request_at = max(last_request_at, ?) WHERE id = ?`, ms(at), userID)
		return err
	}))
}

// SignOutSession implements [store.Store].
func (s *Store) SignOutSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	return wrap("sign out session", s.w.do(ctx, func(tx *wtx) error {
		return affected(tx.exec(`UPDATE sessions SET user_id = NULL, provider = '', signed_in_at = 0,
			last_request_at = max(last_request_at, ?) WHERE token_hash = ?`, ms(at), tokenHash[:]))
	}))
}

// DeleteSession implements [store.Store].
func (s *Store) DeleteSession(ctx context.Context, tokenHash [32]byte) error {
	return wrap("delete session", s.w.do(ctx, func(tx *wtx) error {
		if err := tombstone(tx, `token_hash = ?`, tokenHash[:]); err != nil {
			return err
		}
		return affected(tx.exec(`DELETE FROM sessions WHERE token_hash = ?`, tokenHash[:]))
	}))
}

// ExpireSession implements [store.Store].
func (s *Store) ExpireSession(ctx context.Context, tokenHash [32]byte, lastRequest time.Time) (bool, error) {
	err := s.w.do(ctx, func(tx *wtx) error {
		return affected(tx.exec(`DELETE FROM sessions WHERE token_hash = ? AND last_request_at <= ?`,
			tokenHash[:], ms(lastRequest)))
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, wrap("expire session", err)
}

// nullID stores user id 0 (an application session) as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// userMissing maps a foreign key failure on sessions.user_id to store.ErrNotFound.
func userMissing(err error) error {
	if errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return store.ErrNotFound
	}
	return err
}

// RecordActivity implements [store.Store].
func (s *Store) RecordActivity(ctx context.Context, acts []store.Activity) error {
	if len(acts) == 0 {
		return nil
	}
	return wrap("record activity", s.w.do(ctx, func(tx *wtx) error {
		for _, a := range acts {
			var userID sql.NullInt64
			err := tx.queryRow(`UPDATE sessions SET last_request_at = max(last_request_at, ?)
				WHERE token_hash = ? RETURNING user_id`, ms(a.At), a.TokenHash[:]).Scan(&userID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if userID.Valid {
				if _, err := tx.exec(`UPDATE users SET last_request_at = max(last_request_at, ?) WHERE id = ?`, ms(a.At), userID.Int64); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// UserSessions implements [store.Store].
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]store.Session, error) {
	var list []store.Session
	err := s.read(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY created_at, id`,
		[]any{userID}, func(r row) error {
			se, err := scanSession(r)
			list = append(list, se)
			return err
		})
	return list, wrap("user sessions", err)
}

// DeleteUserSession implements [store.Store].
func (s *Store) DeleteUserSession(ctx context.Context, userID int64, sessionID string) ([32]byte, error) {
	var hash [32]byte
	err := s.w.do(ctx, func(tx *wtx) error {
		if err := tombstone(tx, `id = ? AND user_id = ?`, sessionID, userID); err != nil {
			return err
		}
		var b []byte
		err := tx.queryRow(`DELETE FROM sessions WHERE id = ? AND user_id = ? RETURNING token_hash`, sessionID, userID).Scan(&b)
		copy(hash[:], b)
		return notFound(err)
	})
	return hash, wrap("delete user session", err)
}

// DeleteOtherUserSessions implements [store.Sessions].
func (s *Store) DeleteOtherUserSessions(ctx context.Context, userID int64, keep [32]byte) ([]string, [][32]byte, error) {
	var (
		ids    []string
		hashes [][32]byte
	)
	err := s.w.do(ctx, func(tx *wtx) error {
		ids, hashes = nil, nil
		var one int
		if err := notFound(tx.queryRow(`SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ?`, keep[:], userID).Scan(&one)); err != nil {
			return err
		}
		const where = `user_id = ? AND token_hash <> ?`
		if err := tombstone(tx, where, userID, keep[:]); err != nil {
			return err
		}
		return tx.query(`DELETE FROM sessions WHERE `+where+` RETURNING id, token_hash`, []any{userID, keep[:]}, func(r row) error {
			var h [32]byte
			copy(h[:], r.Blob(1))
			ids, hashes = append(ids, r.Text(0)), append(hashes, h)
			return nil
		})
	})
	if err != nil {
		return nil, nil, wrap("delete other user sessions", err)
	}
	return ids, hashes, nil
}

// DeleteExpiredSessions implements [store.Store].
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, startedBefore time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM sessions WHERE last_request_at < ?
			OR (user_id IS NULL AND created_at < ?) OR (user_id IS NOT NULL AND signed_in_at < ?)`,
			ms(idleBefore), ms(startedBefore), ms(startedBefore))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.exec(`DELETE FROM revoked_sessions WHERE started_at < ?`, ms(startedBefore))
		return err
	})
	return int(n), wrap("delete expired sessions", err)
}

// passwordStill checks, inside a write, that the user is not disabled and that its password
// hash is still the one a sign-in verified ("" checks only the former): ErrNotFound otherwise.
func passwordStill(tx *wtx, userID int64, verifiedHash string) error {
	if userID == 0 {
		return nil
	}
	var one int
	if verifiedHash == "" {
		return notFound(tx.queryRow(`SELECT 1 FROM users WHERE id = ? AND disabled = 0`, userID).Scan(&one))
	}
	err := tx.queryRow(`SELECT 1 FROM users WHERE id = ? AND password_hash = ? AND disabled = 0`, userID, verifiedHash).Scan(&one)
	return notFound(err)
}

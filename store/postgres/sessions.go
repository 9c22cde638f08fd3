package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

const sessionColumns = `token_hash, id, app_id, coalesce(user_id, 0), provider, created_at, signed_in_at, last_request_at`

func scanSession(row pgx.Row) (store.Session, error) {
	var (
		se                     store.Session
		hash                   []byte
		created, signedIn, req int64
	)
	if err := row.Scan(&hash, &se.ID, &se.AppID, &se.UserID, &se.Provider, &created, &signedIn, &req); err != nil {
		return store.Session{}, err
	}
	copy(se.TokenHash[:], hash)
	se.CreatedAt, se.SignedInAt, se.LastRequestAt = fromMS(created), fromMS(signedIn), fromMS(req)
	return se, nil
}

// passwordStill checks, inside a write, that the user is not disabled and that its password
// hash is still the one a sign-in verified ("" checks only the former), and locks the user's
// row until the commit so that a password change or a disabling cannot commit in between:
// ErrNotFound otherwise.
func passwordStill(ctx context.Context, tx pgx.Tx, userID int64, verifiedHash string) error {
	if userID == 0 {
		return nil
	}
	var one int
	if verifiedHash == "" {
		return queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? AND NOT disabled FOR SHARE`, userID).Scan(&one)
	}
	return queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? AND password_hash = ? AND NOT disabled FOR SHARE`, userID, verifiedHash).Scan(&one)
}

// sessionActsFor checks, inside a write, that the session still acts for the user, and locks
// the session's row until the commit: a write validated before a revocation must not commit
// after it.
func sessionActsFor(ctx context.Context, tx pgx.Tx, sessionHash [32]byte, userID int64) error {
	var one int
	return queryRow(ctx, tx, `SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ? FOR SHARE`, sessionHash[:], userID).Scan(&one)
}

// CreateSession implements [store.Sessions]. It is one statement (see [Store.one]): a user
// session is inserted only where the user's row, locked for share until the commit, is not
// disabled and still has the verified hash, as [passwordStill] checks inside a transaction.
func (s *Store) CreateSession(ctx context.Context, se store.Session, verifiedHash string) error {
	args := []any{se.TokenHash[:], se.ID, se.AppID, nullID(se.UserID), se.Provider,
		ms(se.CreatedAt), ms(se.SignedInAt), ms(se.LastRequestAt)}
	insert := `INSERT INTO sessions (token_hash, id, app_id, user_id, provider, created_at, signed_in_at, last_request_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	if se.UserID != 0 {
		insert = `INSERT INTO sessions (token_hash, id, app_id, user_id, provider, created_at, signed_in_at, last_request_at)
			SELECT ?::bytea, ?::text, ?::bigint, ?::bigint, ?::text, ?::bigint, ?::bigint, ?::bigint
			WHERE EXISTS (SELECT 1 FROM users WHERE id = ? AND NOT disabled`
		args = append(args, se.UserID)
		if verifiedHash != "" {
			insert += ` AND password_hash = ?`
			args = append(args, verifiedHash)
		}
		insert += ` FOR SHARE)`
	}
	return wrap("create session", s.one(ctx, func(q querier) error {
		return affected(exec(ctx, q, insert, args...))
	}))
}

// Session implements [store.Sessions].
func (s *Store) Session(ctx context.Context, tokenHash [32]byte) (store.Session, error) {
	se, err := scanSession(queryRow(ctx, s.pool, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, tokenHash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		var one int
		terr := queryRow(ctx, s.pool, `SELECT 1 FROM revoked_sessions WHERE token_hash = ?`, tokenHash[:]).Scan(&one)
		switch {
		case terr == nil:
			return se, store.ErrRevoked
		case !errors.Is(terr, pgx.ErrNoRows):
			err = terr
		}
	}
	return se, wrap("session", err)
}

// TouchSession implements [store.Sessions].
func (s *Store) TouchSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	return wrap("touch session", s.tx(ctx, func(tx pgx.Tx) error {
		var userID *int64
		err := queryRow(ctx, tx, `UPDATE sessions SET last_request_at = greatest(last_request_at, ?)
			WHERE token_hash = ? RETURNING user_id`, ms(at), tokenHash[:]).Scan(&userID)
		if err != nil {
			return err
		}
		if userID != nil {
			_, err = exec(ctx, tx, `UPDATE users SET last_request_at = greatest(last_request_at, ?) WHERE id = ?`, ms(at), *userID)
		}
		return err
	}))
}

// SignInSession implements [store.Sessions].
func (s *Store) SignInSession(ctx context.Context, tokenHash [32]byte, userID int64, provider, verifiedHash string, at time.Time) error {
	return wrap("sign in session", s.tx(ctx, func(tx pgx.Tx) error {
		if err := passwordStill(ctx, tx, userID, verifiedHash); err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `UPDATE sessions SET user_id = ?, provider = ?, signed_in_at = ?,
			last_request_at = greatest(last_request_at, ?) WHERE token_hash = ?`,
			userID, provider, ms(at), ms(at), tokenHash[:])); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, tokenHash); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `UPDATE users SET last_request_at = greatest(last_request_at, ?) WHERE id = ?`, ms(at), userID)
		return err
	}))
}

// SignOutSession implements [store.Sessions].
func (s *Store) SignOutSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	return wrap("sign out session", s.tx(ctx, func(tx pgx.Tx) error {
		if err := affected(exec(ctx, tx, `UPDATE sessions SET user_id = NULL, provider = '', signed_in_at = 0,
			last_request_at = greatest(last_request_at, ?) WHERE token_hash = ?`, ms(at), tokenHash[:])); err != nil {
			return err
		}
		return s.notify(ctx, tx, tokenHash)
	}))
}

// DeleteSession implements [store.Sessions].
func (s *Store) DeleteSession(ctx context.Context, tokenHash [32]byte) error {
	return wrap("delete session", s.tx(ctx, func(tx pgx.Tx) error {
		if err := tombstone(ctx, tx, `token_hash = ?`, tokenHash[:]); err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash[:])); err != nil {
			return err
		}
		return s.notify(ctx, tx, tokenHash)
	}))
}

// ExpireSession implements [store.Sessions].
func (s *Store) ExpireSession(ctx context.Context, tokenHash [32]byte, lastRequest time.Time) (bool, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := affected(exec(ctx, tx, `DELETE FROM sessions WHERE token_hash = ? AND last_request_at <= ?`,
			tokenHash[:], ms(lastRequest))); err != nil {
			return err
		}
		return s.notify(ctx, tx, tokenHash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, wrap("expire session", err)
}

// RecordActivity implements [store.Sessions].
func (s *Store) RecordActivity(ctx context.Context, acts []store.Activity) error {
	if len(acts) == 0 {
		return nil
	}
	return wrap("record activity", s.tx(ctx, func(tx pgx.Tx) error {
		for _, a := range acts {
			var userID *int64
			err := queryRow(ctx, tx, `UPDATE sessions SET last_request_at = greatest(last_request_at, ?)
				WHERE token_hash = ? RETURNING user_id`, ms(a.At), a.TokenHash[:]).Scan(&userID)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if userID != nil {
				if _, err := exec(ctx, tx, `UPDATE users SET last_request_at = greatest(last_request_at, ?) WHERE id = ?`, ms(a.At), *userID); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// UserSessions implements [store.Sessions].
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]store.Session, error) {
	var list []store.Session
	err := query(ctx, s.pool, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY created_at, id`,
		[]any{userID}, func(r pgx.Rows) error {
			se, err := scanSession(r)
			list = append(list, se)
			return err
		})
	return list, wrap("user sessions", err)
}

// DeleteUserSession implements [store.Sessions].
func (s *Store) DeleteUserSession(ctx context.Context, userID int64, sessionID string) ([32]byte, error) {
	var hash [32]byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tombstone(ctx, tx, `id = ? AND user_id = ?`, sessionID, userID); err != nil {
			return err
		}
		var b []byte
		if err := queryRow(ctx, tx, `DELETE FROM sessions WHERE id = ? AND user_id = ? RETURNING token_hash`, sessionID, userID).Scan(&b); err != nil {
			return err
		}
		copy(hash[:], b)
		return s.notify(ctx, tx, hash)
	})
	return hash, wrap("delete user session", err)
}

// DeleteExpiredSessions implements [store.Sessions].
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, startedBefore time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		hashes, err := deleteSessions(ctx, tx, `last_request_at < ?
			OR (user_id IS NULL AND created_at < ?) OR (user_id IS NOT NULL AND signed_in_at < ?)`,
			ms(idleBefore), ms(startedBefore), ms(startedBefore))
		if err != nil {
			return err
		}
		n = len(hashes)
		if _, err := exec(ctx, tx, `DELETE FROM revoked_sessions WHERE started_at < ?`, ms(startedBefore)); err != nil {
			return err
		}
		return s.notify(ctx, tx, hashes...)
	})
	return n, wrap("delete expired sessions", err)
}

// tombstone records the sessions matching where (constant text) as revoked (S33), in the
// transaction that deletes them. A session revoked twice keeps its first tombstone.
func tombstone(ctx context.Context, tx pgx.Tx, where string, args ...any) error {
	_, err := exec(ctx, tx, `INSERT INTO revoked_sessions (token_hash, started_at)
		SELECT token_hash, CASE WHEN user_id IS NULL THEN created_at ELSE signed_in_at END
		FROM sessions WHERE `+where+` ON CONFLICT (token_hash) DO NOTHING`, args...)
	return err
}

// DeleteOtherUserSessions implements [store.Sessions].
func (s *Store) DeleteOtherUserSessions(ctx context.Context, userID int64, keep [32]byte) ([]string, [][32]byte, error) {
	var (
		ids    []string
		hashes [][32]byte
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		ids, hashes = nil, nil
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ? FOR UPDATE`, keep[:], userID).Scan(&one); err != nil {
			return err
		}
		const where = `user_id = ? AND token_hash <> ?`
		if err := tombstone(ctx, tx, where, userID, keep[:]); err != nil {
			return err
		}
		err := query(ctx, tx, `DELETE FROM sessions WHERE `+where+` RETURNING id, token_hash`, []any{userID, keep[:]}, func(r pgx.Rows) error {
			var (
				id string
				b  []byte
			)
			if err := r.Scan(&id, &b); err != nil {
				return err
			}
			var h [32]byte
			copy(h[:], b)
			ids, hashes = append(ids, id), append(hashes, h)
			return nil
		})
		if err != nil {
			return err
		}
		return s.notify(ctx, tx, hashes...)
	})
	if err != nil {
		return nil, nil, wrap("delete other user sessions", err)
	}
	return ids, hashes, nil
}

// revokeSessions revokes the sessions matching where (constant text): it leaves their
// tombstones, deletes them and returns their hashes.
func revokeSessions(ctx context.Context, tx pgx.Tx, where string, args ...any) ([][32]byte, error) {
	if err := tombstone(ctx, tx, where, args...); err != nil {
		return nil, err
	}
	return deleteSessions(ctx, tx, where, args...)
}

// deleteSessions deletes the sessions matching where (constant text) and returns their hashes.
func deleteSessions(ctx context.Context, tx pgx.Tx, where string, args ...any) ([][32]byte, error) {
	var hashes [][32]byte
	err := query(ctx, tx, `DELETE FROM sessions WHERE `+where+` RETURNING token_hash`, args, func(r pgx.Rows) error {
		var b []byte
		if err := r.Scan(&b); err != nil {
			return err
		}
		var h [32]byte
		copy(h[:], b)
		hashes = append(hashes, h)
		return nil
	})
	return hashes, err
}

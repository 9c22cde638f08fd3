package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/internal/usersql"
)

// SetPasswordHash implements [store.Store].
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, old, new string) error {
	return wrap("set password hash", s.w.do(ctx, func(tx *wtx) error {
		var current sql.NullString
		if err := tx.queryRow(`SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&current); err != nil {
			return notFound(err)
		}
		if current.String != old {
			return store.ErrStale
		}
		_, err := tx.exec(`UPDATE users SET password_hash = ? WHERE id = ?`, usersql.Null(new), userID)
		return err
	}))
}

// Throttle implements [store.Store].
func (s *Store) Throttle(ctx context.Context, key string) (int, time.Time, error) {
	var failures int
	var until int64
	if err := s.readRow(ctx, `SELECT failures, until FROM throttle WHERE key = ?`, []any{key}, scanInto(&failures, &until)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, time.Time{}, nil
		}
		return 0, time.Time{}, wrap("throttle", err)
	}
	return failures, fromMS(until), nil
}

// SetThrottle implements [store.Store].
func (s *Store) SetThrottle(ctx context.Context, key string, failures int, until time.Time) error {
	return wrap("set throttle", s.w.do(ctx, func(tx *wtx) error {
		if failures <= 0 {
			_, err := tx.exec(`DELETE FROM throttle WHERE key = ?`, key)
			return err
		}
		_, err := tx.exec(`INSERT INTO throttle (key, failures, until) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, until = excluded.until`,
			key, failures, ms(until))
		return err
	}))
}

// DeleteStaleThrottles implements [store.Store].
func (s *Store) DeleteStaleThrottles(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM throttle WHERE until < ?`, ms(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete stale throttles", err)
}

// AddThrottleFailure implements [store.Throttles]: the read and the write are one write
// transaction, which SQLite runs alone.
func (s *Store) AddThrottleFailure(ctx context.Context, key string, at time.Time, r store.ThrottleRule) (int, time.Time, error) {
	var (
		failures int
		until    time.Time
	)
	err := s.w.do(ctx, func(tx *wtx) error {
		var (
			n int
			u int64
		)
		stored := time.Time{}
		err := tx.queryRow(`SELECT failures, until FROM throttle WHERE key = ?`, key).Scan(&n, &u)
		switch {
		case err == nil:
			stored = fromMS(u)
		case errors.Is(err, sql.ErrNoRows):
		default:
			return err
		}
		failures, until = r.Next(n, stored, at)
		_, err = tx.exec(`INSERT INTO throttle (key, failures, until) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, until = excluded.until`,
			key, failures, ms(until))
		return err
	})
	if err != nil {
		return 0, time.Time{}, wrap("add throttle failure", err)
	}
	return failures, until, nil
}

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

// Throttle implements [store.Throttles].
func (s *Store) Throttle(ctx context.Context, key string) (int, time.Time, error) {
	var (
		failures int
		until    int64
	)
	err := queryRow(ctx, s.pool, `SELECT failures, until FROM throttle WHERE key = ?`, key).Scan(&failures, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, wrap("throttle", err)
	}
	return failures, fromMS(until), nil
}

// SetThrottle implements [store.Throttles].
func (s *Store) SetThrottle(ctx context.Context, key string, failures int, until time.Time) error {
	return wrap("set throttle", s.tx(ctx, func(tx pgx.Tx) error {
		if failures <= 0 {
			_, err := exec(ctx, tx, `DELETE FROM throttle WHERE key = ?`, key)
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO throttle (key, failures, until) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, until = excluded.until`,
			key, failures, ms(until))
		return err
	}))
}

// DeleteStaleThrottles implements [store.Throttles].
func (s *Store) DeleteStaleThrottles(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(ctx, tx, `DELETE FROM throttle WHERE until < ?`, ms(before))
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrap("delete stale throttles", err)
}

// AddThrottleFailure implements [store.Throttles]: the key's row is created when missing, then
// locked, read and written in one transaction, so concurrent failures on any number of
// instances each count once.
func (s *Store) AddThrottleFailure(ctx context.Context, key string, at time.Time, r store.ThrottleRule) (int, time.Time, error) {
	var (
		failures int
		until    time.Time
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// A new key starts as (0, 0): the row exists to be locked.
		if _, err := exec(ctx, tx, `INSERT INTO throttle (key, failures, until) VALUES (?, 0, 0)
			ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return err
		}
		var (
			n int
			u int64
		)
		if err := queryRow(ctx, tx, `SELECT failures, until FROM throttle WHERE key = ? FOR UPDATE`, key).Scan(&n, &u); err != nil {
			return err
		}
		stored := time.Time{}
		if n > 0 {
			stored = fromMS(u)
		}
		failures, until = r.Next(n, stored, at)
		_, err := exec(ctx, tx, `UPDATE throttle SET failures = ?, until = ? WHERE key = ?`, failures, ms(until), key)
		return err
	})
	if err != nil {
		return 0, time.Time{}, wrap("add throttle failure", err)
	}
	return failures, until, nil
}

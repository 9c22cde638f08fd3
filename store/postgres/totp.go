package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

var _ store.SecondFactors = (*Store)(nil)

// TOTP implements [store.SecondFactors].
func (s *Store) TOTP(ctx context.Context, userID int64) (store.TOTP, error) {
	t := store.TOTP{UserID: userID}
	var created int64
	err := queryRow(ctx, s.pool, `SELECT secret, confirmed, last_step, created_at FROM totp WHERE user_id = ?`, userID).
		Scan(&t.Secret, &t.Confirmed, &t.LastStep, &created)
	t.CreatedAt = fromMS(created)
	return t, wrap("totp", err)
}

// PutTOTP implements [store.SecondFactors].
func (s *Store) PutTOTP(ctx context.Context, t store.TOTP) error {
	return wrap("put totp", s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(ctx, tx, `INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) VALUES (?, ?, false, 0, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0, created_at = excluded.created_at
			WHERE NOT totp.confirmed`, t.UserID, t.Secret, ms(t.CreatedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrStale
		}
		return nil
	}))
}

// putRecoveryCodes replaces the user's recovery codes.
func putRecoveryCodes(ctx context.Context, tx pgx.Tx, userID int64, recovery [][32]byte) error {
	if _, err := exec(ctx, tx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range recovery {
		if _, err := exec(ctx, tx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?) ON CONFLICT DO NOTHING`, userID, h[:]); err != nil {
			return err
		}
	}
	return nil
}

// ConfirmTOTP implements [store.SecondFactors].
func (s *Store) ConfirmTOTP(ctx context.Context, userID, step int64, recovery [][32]byte) error {
	return wrap("confirm totp", s.tx(ctx, func(tx pgx.Tx) error {
		if err := affected(exec(ctx, tx, `UPDATE totp SET confirmed = true, last_step = ? WHERE user_id = ? AND NOT confirmed`,
			step, userID)); err != nil {
			return err
		}
		return putRecoveryCodes(ctx, tx, userID, recovery)
	}))
}

// UseTOTPStep implements [store.SecondFactors].
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) error {
	return wrap("use totp step", s.tx(ctx, func(tx pgx.Tx) error {
		err := affected(exec(ctx, tx, `UPDATE totp SET last_step = ? WHERE user_id = ? AND confirmed AND last_step < ?`,
			step, userID, step))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM totp WHERE user_id = ? AND confirmed`, userID).Scan(&one); err != nil {
			return err
		}
		return store.ErrStale
	}))
}

// UseRecoveryCode implements [store.SecondFactors].
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash [32]byte) error {
	return wrap("use recovery code", s.tx(ctx, func(tx pgx.Tx) error {
		return affected(exec(ctx, tx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash[:]))
	}))
}

// SetRecoveryCodes implements [store.SecondFactors].
func (s *Store) SetRecoveryCodes(ctx context.Context, userID int64, recovery [][32]byte) error {
	return wrap("set recovery codes", s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM totp WHERE user_id = ? AND confirmed FOR UPDATE`, userID).Scan(&one); err != nil {
			return err
		}
		return putRecoveryCodes(ctx, tx, userID, recovery)
	}))
}

// RecoveryCodesLeft implements [store.SecondFactors].
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := queryRow(ctx, s.pool, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	return n, wrap("recovery codes left", err)
}

// DeleteTOTP implements [store.SecondFactors].
func (s *Store) DeleteTOTP(ctx context.Context, userID int64) error {
	return wrap("delete totp", s.tx(ctx, func(tx pgx.Tx) error {
		if err := affected(exec(ctx, tx, `DELETE FROM totp WHERE user_id = ?`, userID)); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
		return err
	}))
}

// CreateChallenge implements [store.SecondFactors].
func (s *Store) CreateChallenge(ctx context.Context, c store.Challenge) error {
	return wrap("create challenge", s.tx(ctx, func(tx pgx.Tx) error {
		_, err := exec(ctx, tx, `INSERT INTO challenges (challenge_hash, user_id, provider, verified_hash, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.Hash[:], c.UserID, c.Provider, c.VerifiedHash, ms(c.ExpiresAt))
		return err
	}))
}

// Challenge implements [store.SecondFactors].
func (s *Store) Challenge(ctx context.Context, hash [32]byte, now time.Time) (store.Challenge, error) {
	c := store.Challenge{Hash: hash}
	var expires int64
	err := queryRow(ctx, s.pool, `SELECT user_id, provider, verified_hash, expires_at FROM challenges WHERE challenge_hash = ? AND expires_at > ?`,
		hash[:], ms(now)).Scan(&c.UserID, &c.Provider, &c.VerifiedHash, &expires)
	c.ExpiresAt = fromMS(expires)
	return c, wrap("challenge", err)
}

// ConsumeChallenge implements [store.SecondFactors].
func (s *Store) ConsumeChallenge(ctx context.Context, hash [32]byte, now time.Time) (store.Challenge, error) {
	c := store.Challenge{Hash: hash}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var expires int64
		err := queryRow(ctx, tx, `DELETE FROM challenges WHERE challenge_hash = ? AND expires_at > ?
			RETURNING user_id, provider, verified_hash, expires_at`, hash[:], ms(now)).Scan(&c.UserID, &c.Provider, &c.VerifiedHash, &expires)
		c.ExpiresAt = fromMS(expires)
		return err
	})
	return c, wrap("consume challenge", err)
}

// DeleteExpiredChallenges implements [store.SecondFactors].
func (s *Store) DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(ctx, tx, `DELETE FROM challenges WHERE expires_at <= ?`, ms(now))
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrap("delete expired challenges", err)
}

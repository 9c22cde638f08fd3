package sqlite

import (
	"context"
	"time"

	"github.com/authcube/authcube/store"
)

var _ store.SecondFactors = (*Store)(nil)

// TOTP implements [store.SecondFactors].
func (s *Store) TOTP(ctx context.Context, userID int64) (store.TOTP, error) {
	t := store.TOTP{UserID: userID}
	var confirmed, created int64
	err := s.readRow(ctx, `SELECT secret, confirmed, last_step, created_at FROM totp WHERE user_id = ?`,
		[]any{userID}, scanInto(&t.Secret, &confirmed, &t.LastStep, &created))
	t.Confirmed, t.CreatedAt = confirmed != 0, fromMS(created)
	return t, wrap("totp", notFound(err))
}

// PutTOTP implements [store.SecondFactors].
func (s *Store) PutTOTP(ctx context.Context, t store.TOTP) error {
	return wrap("put totp", s.w.do(ctx, func(tx *wtx) error {
		var confirmed int64
		err := tx.queryRow(`SELECT confirmed FROM totp WHERE user_id = ?`, t.UserID).Scan(&confirmed)
		if err == nil && confirmed != 0 {
			return store.ErrStale
		}
		if err := notFound(err); err != nil && err != store.ErrNotFound {
			return err
		}
		_, err = tx.exec(`INSERT INTO totp (user_id, secret, confirmed, last_step, created_at) VALUES (?, ?, 0, 0, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0, created_at = excluded.created_at`,
			t.UserID, t.Secret, ms(t.CreatedAt))
		return userMissing(err)
	}))
}

// putRecoveryCodes replaces the user's recovery codes.
func putRecoveryCodes(tx *wtx, userID int64, recovery [][32]byte) error {
	if _, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return err
	}
	for _, h := range recovery {
		if _, err := tx.exec(`INSERT OR IGNORE INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h[:]); err != nil {
			return err
		}
	}
	return nil
}

// ConfirmTOTP implements [store.SecondFactors].
func (s *Store) ConfirmTOTP(ctx context.Context, userID, step int64, recovery [][32]byte) error {
	return wrap("confirm totp", s.w.do(ctx, func(tx *wtx) error {
		if err := affected(tx.exec(`UPDATE totp SET confirmed = 1, last_step = ? WHERE user_id = ? AND confirmed = 0`,
			step, userID)); err != nil {
			return err
		}
		return putRecoveryCodes(tx, userID, recovery)
	}))
}

// UseTOTPStep implements [store.SecondFactors].
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) error {
	return wrap("use totp step", s.w.do(ctx, func(tx *wtx) error {
		err := affected(tx.exec(`UPDATE totp SET last_step = ? WHERE user_id = ? AND confirmed = 1 AND last_step < ?`,
			step, userID, step))
		if err != store.ErrNotFound {
			return err
		}
		var one int64
		if err := notFound(tx.queryRow(`SELECT 1 FROM totp WHERE user_id = ? AND confirmed = 1`, userID).Scan(&one)); err != nil {
			return err
		}
		return store.ErrStale
	}))
}

// UseRecoveryCode implements [store.SecondFactors].
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash [32]byte) error {
	return wrap("use recovery code", s.w.do(ctx, func(tx *wtx) error {
		return affected(tx.exec(`DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash[:]))
	}))
}

// SetRecoveryCodes implements [store.SecondFactors].
func (s *Store) SetRecoveryCodes(ctx context.Context, userID int64, recovery [][32]byte) error {
	return wrap("set recovery codes", s.w.do(ctx, func(tx *wtx) error {
		var one int64
		if err := notFound(tx.queryRow(`SELECT 1 FROM totp WHERE user_id = ? AND confirmed = 1`, userID).Scan(&one)); err != nil {
			return err
		}
		return putRecoveryCodes(tx, userID, recovery)
	}))
}

// RecoveryCodesLeft implements [store.SecondFactors].
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.readRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, []any{userID}, scanInto(&n))
	return n, wrap("recovery codes left", err)
}

// DeleteTOTP implements [store.SecondFactors].
func (s *Store) DeleteTOTP(ctx context.Context, userID int64) error {
	return wrap("delete totp", s.w.do(ctx, func(tx *wtx) error {
		if err := affected(tx.exec(`DELETE FROM totp WHERE user_id = ?`, userID)); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM recovery_codes WHERE user_id = ?`, userID)
		return err
	}))
}

// CreateChallenge implements [store.SecondFactors].
func (s *Store) CreateChallenge(ctx context.Context, c store.Challenge) error {
	return wrap("create challenge", s.w.do(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO challenges (challenge_hash, user_id, provider, verified_hash, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.Hash[:], c.UserID, c.Provider, c.VerifiedHash, ms(c.ExpiresAt))
		return userMissing(err)
	}))
}

// Challenge implements [store.SecondFactors].
func (s *Store) Challenge(ctx context.Context, hash [32]byte, now time.Time) (store.Challenge, error) {
	c := store.Challenge{Hash: hash}
	var expires int64
	err := s.readRow(ctx, `SELECT user_id, provider, verified_hash, expires_at FROM challenges WHERE challenge_hash = ? AND expires_at > ?`,
		[]any{hash[:], ms(now)}, scanInto(&c.UserID, &c.Provider, &c.VerifiedHash, &expires))
	c.ExpiresAt = fromMS(expires)
	return c, wrap("challenge", notFound(err))
}

// ConsumeChallenge implements [store.SecondFactors].
func (s *Store) ConsumeChallenge(ctx context.Context, hash [32]byte, now time.Time) (store.Challenge, error) {
	c := store.Challenge{Hash: hash}
	err := s.w.do(ctx, func(tx *wtx) error {
		var expires int64
		err := tx.queryRow(`DELETE FROM challenges WHERE challenge_hash = ? AND expires_at > ?
			RETURNING user_id, provider, verified_hash, expires_at`, hash[:], ms(now)).Scan(&c.UserID, &c.Provider, &c.VerifiedHash, &expires)
		c.ExpiresAt = fromMS(expires)
		return notFound(err)
	})
	return c, wrap("consume challenge", err)
}

// DeleteExpiredChallenges implements [store.SecondFactors].
func (s *Store) DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM challenges WHERE expires_at <= ?`, ms(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete expired challenges", err)
}

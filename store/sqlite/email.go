package sqlite

import (
	"context"
	"time"

	"github.com/authcube/authcube/store"
)

var _ store.EmailCodes = (*Store)(nil)

// msOrZero stores the zero time as 0; fromMSOrZero reads 0 as the zero time.
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// CreateEmailCode implements [store.EmailCodes].
func (s *Store) CreateEmailCode(ctx context.Context, c store.EmailCode) error {
	return wrap("create email code", s.w.do(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`DELETE FROM email_codes WHERE user_id = ? AND purpose = ?`, c.UserID, c.Purpose); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO email_codes (code_hash, user_id, email_canon, purpose, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, c.Hash[:], c.UserID, c.EmailCanon, c.Purpose, ms(c.CreatedAt), ms(c.ExpiresAt))
		return userMissing(err)
	}))
}

// ConsumeEmailCode implements [store.EmailCodes].
func (s *Store) ConsumeEmailCode(ctx context.Context, hash [32]byte, purpose string, now time.Time) (store.EmailCode, error) {
	c := store.EmailCode{Hash: hash}
	err := s.w.do(ctx, func(tx *wtx) error {
		var created, expires int64
		err := tx.queryRow(`DELETE FROM email_codes WHERE code_hash = ? AND purpose = ? AND expires_at > ?
			AND email_canon = (SELECT email_canon FROM users WHERE id = email_codes.user_id)
			RETURNING user_id, email_canon, purpose, created_at, expires_at`, hash[:], purpose, ms(now)).
			Scan(&c.UserID, &c.EmailCanon, &c.Purpose, &created, &expires)
		if err != nil {
			return notFound(err)
		}
		c.CreatedAt, c.ExpiresAt = fromMS(created), fromMS(expires)
		_, err = tx.exec(`UPDATE users SET email_verified_at = ? WHERE id = ? AND email_verified_at = 0`, ms(now), c.UserID)
		return err
	})
	return c, wrap("consume email code", err)
}

// MarkEmailVerified implements [store.EmailCodes].
func (s *Store) MarkEmailVerified(ctx context.Context, userID int64, emailCanon string, at time.Time) error {
	return wrap("mark email verified", s.w.do(ctx, func(tx *wtx) error {
		if err := affected(tx.exec(`UPDATE users SET email_verified_at = CASE WHEN email_verified_at = 0 THEN ? ELSE email_verified_at END
			WHERE id = ? AND email_canon = ?`, ms(at), userID, emailCanon)); err != nil {
			return err
		}
		return nil
	}))
}

// DeleteExpiredEmailCodes implements [store.EmailCodes].
func (s *Store) DeleteExpiredEmailCodes(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM email_codes WHERE expires_at <= ?`, ms(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete expired email codes", err)
}

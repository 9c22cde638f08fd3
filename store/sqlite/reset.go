package sqlite

import (
	"context"
	"time"

	"github.com/authcube/authcube/store"
)

// CreateResetToken implements [store.Store].
func (s *Store) CreateResetToken(ctx context.Context, t store.ResetToken) error {
	return wrap("create reset token", s.w.do(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`DELETE FROM reset_tokens WHERE user_id = ?`, t.UserID); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO reset_tokens (token_hash, user_id, email_canon, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, t.TokenHash[:], t.UserID, t.EmailCanon, ms(t.CreatedAt), ms(t.ExpiresAt))
		return userMissing(err)
	}))
}

// pendingReset selects a pending token: unused, unexpired, issued to the user's current email.
const pendingReset = `SELECT r.user_id, r.email_canon, r.created_at, r.expires_at FROM reset_tokens r
	JOIN users u ON u.id = r.user_id AND u.email_canon = r.email_canon
	WHERE r.token_hash = ? AND r.used = 0 AND r.expires_at > ?`

// ResetToken implements [store.Store].
func (s *Store) ResetToken(ctx context.Context, tokenHash [32]byte, now time.Time) (store.ResetToken, error) {
	t := store.ResetToken{TokenHash: tokenHash}
	var created, expires int64
	err := s.readRow(ctx, pendingReset, []any{tokenHash[:], ms(now)}, scanInto(&t.UserID, &t.EmailCanon, &created, &expires))
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	return t, wrap("reset token", notFound(err))
}

// ConsumeResetToken implements [store.Store].
func (s *Store) ConsumeResetToken(ctx context.Context, tokenHash [32]byte, now time.Time, passwordHash string) (int64, [][32]byte, error) {
	var (
		userID  int64
		revoked [][32]byte
	)
	err := s.w.do(ctx, func(tx *wtx) error {
		revoked = nil
		// The one conditional update that decides which of concurrent confirmations wins.
		err := tx.queryRow(`UPDATE reset_tokens SET used = 1 WHERE token_hash = ? AND used = 0 AND expires_at > ?
			AND email_canon = (SELECT email_canon FROM users WHERE id = reset_tokens.user_id)
			RETURNING user_id`, tokenHash[:], ms(now)).Scan(&userID)
		if err != nil {
			return notFound(err)
		}
		if err := affected(tx.exec(`UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			passwordHash, ms(now), userID)); err != nil {
			return err
		}
		if revoked, err = deleteSessions(tx, `user_id = ?`, userID); err != nil {
			return err
		}
		_, err = tx.exec(`DELETE FROM reset_tokens WHERE user_id = ? AND token_hash <> ?`, userID, tokenHash[:])
		return err
	})
	return userID, revoked, wrap("consume reset token", err)
}

// DeleteStaleResetTokens implements [store.Store].
func (s *Store) DeleteStaleResetTokens(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM reset_tokens WHERE used = 1 OR expires_at <= ?`, ms(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete stale reset tokens", err)
}

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

// CreateResetToken implements [store.ResetTokens].
func (s *Store) CreateResetToken(ctx context.Context, t store.ResetToken) error {
	return wrap("create reset token", s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, `DELETE FROM reset_tokens WHERE user_id = ?`, t.UserID); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO reset_tokens (token_hash, user_id, email_canon, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, t.TokenHash[:], t.UserID, t.EmailCanon, ms(t.CreatedAt), ms(t.ExpiresAt))
		return err
	}))
}

// ResetToken implements [store.ResetTokens].
func (s *Store) ResetToken(ctx context.Context, tokenHash [32]byte, now time.Time) (store.ResetToken, error) {
	t := store.ResetToken{TokenHash: tokenHash}
	var created, expires int64
	err := queryRow(ctx, s.pool, `SELECT r.user_id, r.email_canon, r.created_at, r.expires_at FROM reset_tokens r
		JOIN users u ON u.id = r.user_id AND u.email_canon = r.email_canon
		WHERE r.token_hash = ? AND NOT r.used AND r.expires_at > ?`, tokenHash[:], ms(now)).Scan(&t.UserID, &t.EmailCanon, &created, &expires)
	t.CreatedAt, t.ExpiresAt = fromMS(created), fromMS(expires)
	return t, wrap("reset token", err)
}

// ConsumeResetToken implements [store.ResetTokens].
func (s *Store) ConsumeResetToken(ctx context.Context, tokenHash [32]byte, now time.Time, passwordHash string) (int64, [][32]byte, error) {
	var (
		userID  int64
		revoked [][32]byte
	)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		revoked = nil
		// The one conditional update that decides which of concurrent confirmations wins: a
		// second one waits for the first's row lock, then finds the token used.
		err := queryRow(ctx, tx, `UPDATE reset_tokens SET used = true WHERE token_hash = ? AND NOT used AND expires_at > ?
			AND email_canon = (SELECT email_canon FROM users WHERE id = reset_tokens.user_id)
			RETURNING user_id`, tokenHash[:], ms(now)).Scan(&userID)
		if err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			passwordHash, ms(now), userID)); err != nil {
			return err
		}
		if revoked, err = revokeSessions(ctx, tx, `user_id = ?`, userID); err != nil {
			return err
		}
		if err := s.notify(ctx, tx, revoked...); err != nil {
			return err
		}
		_, err = exec(ctx, tx, `DELETE FROM reset_tokens WHERE user_id = ? AND token_hash <> ?`, userID, tokenHash[:])
		return err
	})
	return userID, revoked, wrap("consume reset token", err)
}

// DeleteStaleResetTokens implements [store.ResetTokens].
func (s *Store) DeleteStaleResetTokens(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := exec(ctx, tx, `DELETE FROM reset_tokens WHERE used OR expires_at <= ?`, ms(now))
		n = tag.RowsAffected()
		return err
	})
	return int(n), wrap("delete stale reset tokens", err)
}

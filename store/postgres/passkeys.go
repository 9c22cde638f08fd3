package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

var _ store.Passkeys = (*Store)(nil)

const passkeyColumns = `id, user_id, name, credential, sign_count, created_at, last_used_at`

func scanPasskey(r pgx.Row) (store.Passkey, error) {
	var p store.Passkey
	var count, created, used int64
	if err := r.Scan(&p.ID, &p.UserID, &p.Name, &p.Credential, &count, &created, &used); err != nil {
		return store.Passkey{}, err
	}
	p.SignCount, p.CreatedAt, p.LastUsedAt = uint32(count), fromMS(created), fromMS(used)
	return p, nil
}

// CreatePasskeyChallenge implements [store.Passkeys].
func (s *Store) CreatePasskeyChallenge(ctx context.Context, c store.PasskeyChallenge, now time.Time) error {
	return wrap("create passkey challenge", s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, `DELETE FROM passkey_challenges WHERE expires_at <= ?`, ms(now)); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO passkey_challenges (id, user_id, kind, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Kind, c.Data, ms(c.ExpiresAt))
		return err
	}))
}

// TakePasskeyChallenge implements [store.Passkeys].
func (s *Store) TakePasskeyChallenge(ctx context.Context, id string, now time.Time) (store.PasskeyChallenge, error) {
	var c store.PasskeyChallenge
	var exp int64
	err := queryRow(ctx, s.pool, `DELETE FROM passkey_challenges WHERE id = ? RETURNING id, user_id, kind, data, expires_at`, id).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.Data, &exp)
	if err != nil {
		return store.PasskeyChallenge{}, wrap("take passkey challenge", err)
	}
	c.ExpiresAt = fromMS(exp)
	if !now.Before(c.ExpiresAt) {
		return store.PasskeyChallenge{}, store.ErrNotFound
	}
	return c, nil
}

// CreatePasskey implements [store.Passkeys].
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	return wrap("create passkey", s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? FOR SHARE`, p.UserID).Scan(&one); err != nil {
			return err
		}
		if _, err := exec(ctx, tx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.Name, p.Credential, int64(p.SignCount), ms(p.CreatedAt), ms(p.LastUsedAt)); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (provider, subject) DO NOTHING`, store.PasskeyProvider, strconv.FormatInt(p.UserID, 10), p.UserID, ms(p.CreatedAt))
		return err
	}))
}

// Passkey implements [store.Passkeys].
func (s *Store) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	p, err := scanPasskey(queryRow(ctx, s.pool, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	return p, wrap("passkey", err)
}

// UserPasskeys implements [store.Passkeys].
func (s *Store) UserPasskeys(ctx context.Context, userID int64) ([]store.Passkey, error) {
	out := []store.Passkey{}
	err := query(ctx, s.pool, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, []any{userID},
		func(r pgx.Rows) error {
			p, err := scanPasskey(r)
			out = append(out, p)
			return err
		})
	if err != nil {
		return nil, wrap("user passkeys", err)
	}
	return out, nil
}

// RenamePasskey implements [store.Passkeys].
func (s *Store) RenamePasskey(ctx context.Context, userID int64, id []byte, name string) error {
	return wrap("rename passkey", affected(exec(ctx, s.pool, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)))
}

// DeletePasskey implements [store.Passkeys].
func (s *Store) DeletePasskey(ctx context.Context, userID int64, id []byte) error {
	return wrap("delete passkey", s.tx(ctx, func(tx pgx.Tx) error {
		// Lock the user so that two deletions of the last passkeys see each other.
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? FOR UPDATE`, userID).Scan(&one); err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `DELETE FROM identities WHERE provider = ? AND subject = ?
			AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?)`, store.PasskeyProvider, strconv.FormatInt(userID, 10), userID)
		return err
	}))
}

// UsePasskey implements [store.Passkeys].
func (s *Store) UsePasskey(ctx context.Context, id []byte, oldCount, newCount uint32, credential []byte, at time.Time) error {
	return wrap("use passkey", s.tx(ctx, func(tx pgx.Tx) error {
		var count int64
		if err := queryRow(ctx, tx, `SELECT sign_count FROM passkeys WHERE id = ? FOR UPDATE`, id).Scan(&count); err != nil {
			return err
		}
		if count != int64(oldCount) {
			return store.ErrStale
		}
		_, err := exec(ctx, tx, `UPDATE passkeys SET sign_count = ?, credential = ?, last_used_at = ? WHERE id = ?`,
			int64(newCount), credential, ms(at), id)
		return err
	}))
}

var _ store.Linker = (*Store)(nil)

// LinkIdentity implements [store.Linker].
func (s *Store) LinkIdentity(ctx context.Context, userID int64, provider, subject string, at time.Time) error {
	return wrap("link identity", s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? FOR SHARE`, userID).Scan(&one); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `INSERT INTO identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)`,
			provider, subject, userID, ms(at))
		return err
	}))
}

// UnlinkIdentity implements [store.Linker].
func (s *Store) UnlinkIdentity(ctx context.Context, userID int64, provider string) error {
	return wrap("unlink identity", affected(exec(ctx, s.pool, `DELETE FROM identities WHERE user_id = ? AND provider = ?`, userID, provider)))
}

// UserIdentities implements [store.Linker].
func (s *Store) UserIdentities(ctx context.Context, userID int64) ([]store.Identity, error) {
	out := []store.Identity{}
	err := query(ctx, s.pool, `SELECT provider, subject, created_at FROM identities WHERE user_id = ? ORDER BY provider, subject`, []any{userID},
		func(r pgx.Rows) error {
			var id store.Identity
			var at int64
			if err := r.Scan(&id.Provider, &id.Subject, &at); err != nil {
				return err
			}
			id.CreatedAt = fromMS(at)
			out = append(out, id)
			return nil
		})
	if err != nil {
		return nil, wrap("user identities", err)
	}
	return out, nil
}

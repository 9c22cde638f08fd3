package sqlite

import (
	"context"
	"strconv"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authcube/authcube/store"
)

var _ store.Passkeys = (*Store)(nil)

const passkeyColumns = `id, user_id, name, credential, sign_count, created_at, last_used_at`

func scanPasskey(p *store.Passkey) func(row) error {
	return func(r row) error {
		var count, created, used int64
		if err := r.Scan(&p.ID, &p.UserID, &p.Name, &p.Credential, &count, &created, &used); err != nil {
			return err
		}
		p.SignCount, p.CreatedAt, p.LastUsedAt = uint32(count), fromMS(created), fromMS(used)
		return nil
	}
}

// CreatePasskeyChallenge implements [store.Passkeys].
func (s *Store) CreatePasskeyChallenge(ctx context.Context, c store.PasskeyChallenge, now time.Time) error {
	return wrap("create passkey challenge", s.w.do(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`DELETE FROM passkey_challenges WHERE expires_at <= ?`, ms(now)); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO passkey_challenges (id, user_id, kind, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Kind, c.Data, ms(c.ExpiresAt))
		if errCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return &store.ConflictError{Field: "challenge"}
		}
		return err
	}))
}

// TakePasskeyChallenge implements [store.Passkeys].
func (s *Store) TakePasskeyChallenge(ctx context.Context, id string, now time.Time) (store.PasskeyChallenge, error) {
	var c store.PasskeyChallenge
	err := s.w.do(ctx, func(tx *wtx) error {
		var exp int64
		err := tx.readRow(`DELETE FROM passkey_challenges WHERE id = ? RETURNING id, user_id, kind, data, expires_at`,
			[]any{id}, scanInto(&c.ID, &c.UserID, &c.Kind, &c.Data, &exp))
		if err != nil {
			return notFound(err)
		}
		c.ExpiresAt = fromMS(exp)
		if !now.Before(c.ExpiresAt) {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return store.PasskeyChallenge{}, wrap("take passkey challenge", err)
	}
	return c, nil
}

// CreatePasskey implements [store.Passkeys].
func (s *Store) CreatePasskey(ctx context.Context, p store.Passkey) error {
	return wrap("create passkey", s.w.do(ctx, func(tx *wtx) error {
		var one int
		if err := tx.queryRow(`SELECT 1 FROM users WHERE id = ?`, p.UserID).Scan(&one); err != nil {
			return notFound(err)
		}
		_, err := tx.exec(`INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.UserID, p.Name, p.Credential, int64(p.SignCount), ms(p.CreatedAt), ms(p.LastUsedAt))
		if errCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return &store.ConflictError{Field: "passkey"}
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(`INSERT INTO identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (provider, subject) DO NOTHING`, store.PasskeyProvider, strconv.FormatInt(p.UserID, 10), p.UserID, ms(p.CreatedAt))
		return err
	}))
}

// Passkey implements [store.Passkeys].
func (s *Store) Passkey(ctx context.Context, id []byte) (store.Passkey, error) {
	var p store.Passkey
	err := s.readRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, []any{id}, scanPasskey(&p))
	if err != nil {
		return store.Passkey{}, wrap("passkey", notFound(err))
	}
	return p, nil
}

// UserPasskeys implements [store.Passkeys].
func (s *Store) UserPasskeys(ctx context.Context, userID int64) ([]store.Passkey, error) {
	out := []store.Passkey{}
	err := s.read(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, []any{userID},
		func(r row) error {
			var p store.Passkey
			if err := scanPasskey(&p)(r); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	if err != nil {
		return nil, wrap("user passkeys", err)
	}
	return out, nil
}

// RenamePasskey implements [store.Passkeys].
func (s *Store) RenamePasskey(ctx context.Context, userID int64, id []byte, name string) error {
	return wrap("rename passkey", s.w.do(ctx, func(tx *wtx) error {
		return affected(tx.exec(`UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID))
	}))
}

// DeletePasskey implements [store.Passkeys].
func (s *Store) DeletePasskey(ctx context.Context, userID int64, id []byte) error {
	return wrap("delete passkey", s.w.do(ctx, func(tx *wtx) error {
		if err := affected(tx.exec(`DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM identities WHERE provider = ? AND subject = ?
			AND NOT EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?)`, store.PasskeyProvider, strconv.FormatInt(userID, 10), userID)
		return err
	}))
}

// UsePasskey implements [store.Passkeys].
func (s *Store) UsePasskey(ctx context.Context, id []byte, oldCount, newCount uint32, credential []byte, at time.Time) error {
	return wrap("use passkey", s.w.do(ctx, func(tx *wtx) error {
		var count int64
		if err := tx.queryRow(`SELECT sign_count FROM passkeys WHERE id = ?`, id).Scan(&count); err != nil {
			return notFound(err)
		}
		if count != int64(oldCount) {
			return store.ErrStale
		}
		_, err := tx.exec(`UPDATE passkeys SET sign_count = ?, credential = ?, last_used_at = ? WHERE id = ?`,
			int64(newCount), credential, ms(at), id)
		return err
	}))
}

var _ store.Linker = (*Store)(nil)

// LinkIdentity implements [store.Linker].
func (s *Store) LinkIdentity(ctx context.Context, userID int64, provider, subject string, at time.Time) error {
	return wrap("link identity", s.w.do(ctx, func(tx *wtx) error {
		var one int
		if err := tx.queryRow(`SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
			return notFound(err)
		}
		_, err := tx.exec(`INSERT INTO identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)`,
			provider, subject, userID, ms(at))
		if errCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return &store.ConflictError{Field: "identity"}
		}
		return err
	}))
}

// UnlinkIdentity implements [store.Linker].
func (s *Store) UnlinkIdentity(ctx context.Context, userID int64, provider string) error {
	return wrap("unlink identity", s.w.do(ctx, func(tx *wtx) error {
		return affected(tx.exec(`DELETE FROM identities WHERE user_id = ? AND provider = ?`, userID, provider))
	}))
}

// UserIdentities implements [store.Linker].
func (s *Store) UserIdentities(ctx context.Context, userID int64) ([]store.Identity, error) {
	out := []store.Identity{}
	err := s.read(ctx, `SELECT provider, subject, created_at FROM identities WHERE user_id = ? ORDER BY provider, subject`, []any{userID},
		func(r row) error {
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

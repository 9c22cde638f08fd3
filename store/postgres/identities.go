package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

// UserByIdentity implements [store.Identities].
func (s *Store) UserByIdentity(ctx context.Context, provider, subject string) (store.User, error) {
	u, err := scanUser(queryRow(ctx, s.pool, `SELECT `+userColumnsU+` FROM identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = ? AND i.subject = ?`, provider, subject))
	return u, wrap("user by identity", err)
}

// IdentitySubject implements [store.Identities].
func (s *Store) IdentitySubject(ctx context.Context, userID int64, provider string) (string, error) {
	var subject string
	err := queryRow(ctx, s.pool, `SELECT subject FROM identities WHERE user_id = ? AND provider = ?`, userID, provider).Scan(&subject)
	return subject, wrap("identity subject", err)
}

// CreateIdentityUser implements [store.Identities].
func (s *Store) CreateIdentityUser(ctx context.Context, provider, subject string, u store.User) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if id, err = createUser(ctx, tx, u); err != nil {
			return err
		}
		_, err = exec(ctx, tx, `INSERT INTO identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)`,
			provider, subject, id, ms(u.CreatedAt))
		return err
	})
	return id, wrap("create identity user", err)
}

// RefreshUserName implements [store.Identities].
func (s *Store) RefreshUserName(ctx context.Context, userID int64, fullName string, at time.Time) error {
	return wrap("refresh user name", s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := queryRow(ctx, tx, `SELECT 1 FROM users WHERE id = ? FOR UPDATE`, userID).Scan(&one); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `UPDATE users SET full_name = ?, updated_at = ? WHERE id = ? AND full_name <> ?`,
			fullName, ms(at), userID, fullName)
		return err
	}))
}

package sqlite

import (
	"context"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authcube/authcube/store"
)

// UserByIdentity implements [store.Store].
func (s *Store) UserByIdentity(ctx context.Context, provider, subject string) (store.User, error) {
	return s.readUser(ctx, "user by identity", `SELECT `+userColumnsU+` FROM identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = ? AND i.subject = ?`, provider, subject)
}

// IdentitySubject implements [store.Store].
func (s *Store) IdentitySubject(ctx context.Context, userID int64, provider string) (string, error) {
	var subject string
	err := s.readRow(ctx, `SELECT subject FROM identities WHERE user_id = ? AND provider = ?`,
		[]any{userID, provider}, scanInto(&subject))
	return subject, wrap("identity subject", notFound(err))
}

// CreateIdentityUser implements [store.Store].
func (s *Store) CreateIdentityUser(ctx context.Context, provider, subject string, u store.User) (int64, error) {
	var id int64
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		if id, err = createUser(tx, u); err != nil {
			return err
		}
		_, err = tx.exec(`INSERT INTO identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)`,
			provider, subject, id, ms(u.CreatedAt))
		if errCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			return &store.ConflictError{Field: "identity"}
		}
		return err
	})
	return id, wrap("create identity user", err)
}

// RefreshUserName implements [store.Store].
func (s *Store) RefreshUserName(ctx context.Context, userID int64, fullName string, at time.Time) error {
	return wrap("refresh user name", s.w.do(ctx, func(tx *wtx) error {
		var one int
		if err := tx.queryRow(`SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
			return notFound(err)
		}
		_, err := tx.exec(`UPDATE users SET full_name = ?, updated_at = ? WHERE id = ? AND full_name <> ?`,
			fullName, ms(at), userID, fullName)
		return err
	}))
}

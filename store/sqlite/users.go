package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authcube/authcube/store"
)

const userColumns = `id, login, login_canon, email, email_canon, password_hash, full_name, phone,
	website, external_id, tags, custom_data, avatar_uid, created_at, updated_at, last_request_at`

// CreateUser implements [store.Store].
func (s *Store) CreateUser(ctx context.Context, u store.User) (int64, error) {
	var id int64
	err := s.w.do(ctx, func(tx *wtx) error {
		err := tx.queryRow(`INSERT INTO users (login, login_canon, email, email_canon, password_hash,
			full_name, phone, website, external_id, tags, custom_data, avatar_uid,
			created_at, updated_at, last_request_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			nullString(u.Login), nullString(u.LoginCanon), nullString(u.Email), nullString(u.EmailCanon),
			nullString(u.PasswordHash), u.FullName, u.Phone, u.Website, u.ExternalID,
			strings.Join(u.Tags, ","), u.CustomData, u.AvatarUID,
			ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.LastRequestAt)).Scan(&id)
		if err != nil {
			return conflict(tx, err, u.LoginCanon, u.EmailCanon, 0)
		}
		return insertTags(tx, id, u.Tags)
	})
	return id, wrap("create user", err)
}

func insertTags(tx *wtx, userID int64, tags []string) error {
	for _, tag := range tags {
		if _, err := tx.exec(`INSERT INTO user_tags (tag, user_id) VALUES (?, ?)`, tag, userID); err != nil {
			return err
		}
	}
	return nil
}

// conflict turns a UNIQUE failure into a *store.ConflictError naming the column. SQLite names
// the column only in the message text, so instead of parsing it this probes each unique column
// inside the same transaction. self is the id of the user being updated (0 on insert).
func conflict(tx *wtx, err error, loginCanon, emailCanon string, self int64) error {
	if errCode(err) != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return err
	}
	probes := []struct{ field, q, v string }{
		{"login", `SELECT 1 FROM users WHERE login_canon = ? AND id <> ?`, loginCanon},
		{"email", `SELECT 1 FROM users WHERE email_canon = ? AND id <> ?`, emailCanon},
	}
	for _, p := range probes {
		if p.v == "" {
			continue
		}
		var one int
		switch perr := tx.queryRow(p.q, p.v, self).Scan(&one); {
		case perr == nil:
			return &store.ConflictError{Field: p.field}
		case !errors.Is(perr, sql.ErrNoRows):
			return perr
		}
	}
	return err
}

// User implements [store.Store].
func (s *Store) User(ctx context.Context, id int64) (store.User, error) {
	return s.userWhere(ctx, "user", `id = ?`, id)
}

// UserByLogin implements [store.Store].
func (s *Store) UserByLogin(ctx context.Context, loginCanon string) (store.User, error) {
	return s.userWhere(ctx, "user by login", `login_canon = ?`, loginCanon)
}

// UserByEmail implements [store.Store].
func (s *Store) UserByEmail(ctx context.Context, emailCanon string) (store.User, error) {
	return s.userWhere(ctx, "user by email", `email_canon = ?`, emailCanon)
}

// userWhere reads the one user matching where (a constant condition with one parameter).
func (s *Store) userWhere(ctx context.Context, op, where string, arg any) (store.User, error) {
	row, err := s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where, arg)
	if err != nil {
		return store.User{}, wrap(op, err)
	}
	u, err := scanUser(row)
	return u, wrap(op, notFound(err))
}

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var (
		u                                    store.User
		login, loginCanon, email, emailCanon sql.NullString
		hash                                 sql.NullString
		tags                                 string
		created, updated, req                int64
	)
	err := row.Scan(&u.ID, &login, &loginCanon, &email, &emailCanon, &hash, &u.FullName, &u.Phone,
		&u.Website, &u.ExternalID, &tags, &u.CustomData, &u.AvatarUID, &created, &updated, &req)
	if err != nil {
		return store.User{}, err
	}
	u.Login, u.LoginCanon, u.Email, u.EmailCanon = login.String, loginCanon.String, email.String, emailCanon.String
	u.PasswordHash = hash.String
	if tags != "" {
		u.Tags = strings.Split(tags, ",")
	}
	u.CreatedAt, u.UpdatedAt, u.LastRequestAt = fromMS(created), fromMS(updated), fromMS(req)
	return u, nil
}

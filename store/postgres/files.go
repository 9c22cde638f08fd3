package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

const fileColumns = `id, uid, owner_id, name, content_type, size, public, complete, created_at`

func scanFile(row pgx.Row) (store.File, error) {
	var (
		f       store.File
		created int64
	)
	err := row.Scan(&f.ID, &f.UID, &f.OwnerID, &f.Name, &f.ContentType, &f.Size, &f.Public, &f.Complete, &created)
	f.CreatedAt = fromMS(created)
	return f, err
}

// CreateFile implements [store.Files].
func (s *Store) CreateFile(ctx context.Context, sessionHash [32]byte, f store.File) (int64, error) {
	return s.createFile(ctx, sessionHash, f, false)
}

var _ store.LazyFiles = (*Store)(nil)

// CreateFileLazily implements [store.LazyFiles]: the transaction commits with
// synchronous_commit off, so it is visible at once but its WAL record is flushed by the WAL
// writer or by the next synchronous commit, whose flush covers every record before its own.
func (s *Store) CreateFileLazily(ctx context.Context, sessionHash [32]byte, f store.File) (int64, error) {
	return s.createFile(ctx, sessionHash, f, true)
}

func (s *Store) createFile(ctx context.Context, sessionHash [32]byte, f store.File, lazy bool) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if lazy {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		if err := sessionActsFor(ctx, tx, sessionHash, f.OwnerID); err != nil {
			return err
		}
		return queryRow(ctx, tx, `INSERT INTO files (uid, owner_id, name, content_type, public, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, f.UID, f.OwnerID, f.Name, f.ContentType, f.Public, ms(f.CreatedAt)).Scan(&id)
	})
	return id, wrap("create file", err)
}

// CompleteFile implements [store.Files].
func (s *Store) CompleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID, size int64, contentType string) (store.File, error) {
	var f store.File
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := sessionActsFor(ctx, tx, sessionHash, ownerID); err != nil {
			return err
		}
		var err error
		f, err = scanFile(queryRow(ctx, tx, `UPDATE files SET complete = true, size = ?, content_type = ?
			WHERE uid = ? AND owner_id = ? AND NOT complete RETURNING `+fileColumns, size, contentType, uid, ownerID))
		return err
	})
	return f, wrap("complete file", err)
}

// File implements [store.Files].
func (s *Store) File(ctx context.Context, uid string) (store.File, error) {
	f, err := scanFile(queryRow(ctx, s.pool, `SELECT `+fileColumns+` FROM files WHERE uid = ?`, uid))
	return f, wrap("file", err)
}

// FileByID implements [store.Files].
func (s *Store) FileByID(ctx context.Context, id int64) (store.File, error) {
	f, err := scanFile(queryRow(ctx, s.pool, `SELECT `+fileColumns+` FROM files WHERE id = ?`, id))
	return f, wrap("file by id", err)
}

// UserFiles implements [store.Files].
func (s *Store) UserFiles(ctx context.Context, ownerID, afterID int64, offset, limit, totalCap int) ([]store.File, int, error) {
	var files []store.File
	err := query(ctx, s.pool, `SELECT `+fileColumns+` FROM files WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ? OFFSET ?`,
		[]any{ownerID, afterID, limit, offset}, func(r pgx.Rows) error {
			f, err := scanFile(r)
			files = append(files, f)
			return err
		})
	if err != nil {
		return nil, 0, wrap("user files", err)
	}
	var total int
	err = queryRow(ctx, s.pool, `SELECT count(*) FROM (SELECT 1 FROM files WHERE owner_id = ? LIMIT ?) t`, ownerID, totalCap).Scan(&total)
	return files, total, wrap("count user files", err)
}

// RenameFile implements [store.Files].
func (s *Store) RenameFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64, name string) (store.File, error) {
	var f store.File
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := sessionActsFor(ctx, tx, sessionHash, ownerID); err != nil {
			return err
		}
		var err error
		f, err = scanFile(queryRow(ctx, tx, `UPDATE files SET name = ? WHERE uid = ? AND owner_id = ? RETURNING `+fileColumns, name, uid, ownerID))
		return err
	})
	return f, wrap("rename file", err)
}

// DeleteFile implements [store.Files].
func (s *Store) DeleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64) error {
	return wrap("delete file", s.tx(ctx, func(tx pgx.Tx) error {
		if err := sessionActsFor(ctx, tx, sessionHash, ownerID); err != nil {
			return err
		}
		if err := affected(exec(ctx, tx, `DELETE FROM files WHERE uid = ? AND owner_id = ?`, uid, ownerID)); err != nil {
			return err
		}
		_, err := exec(ctx, tx, `UPDATE users SET avatar_uid = '' WHERE id = ? AND avatar_uid = ?`, ownerID, uid)
		return err
	}))
}

// DeletePendingFiles implements [store.Files].
func (s *Store) DeletePendingFiles(ctx context.Context, before time.Time) ([]string, error) {
	var uids []string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		uids = nil
		return query(ctx, tx, `DELETE FROM files WHERE NOT complete AND created_at < ? RETURNING uid`, []any{ms(before)},
			func(r pgx.Rows) error {
				var uid string
				err := r.Scan(&uid)
				uids = append(uids, uid)
				return err
			})
	})
	return uids, wrap("delete pending files", err)
}

// FileExists implements [store.Files].
func (s *Store) FileExists(ctx context.Context, uid string) (bool, error) {
	var one int
	err := queryRow(ctx, s.pool, `SELECT 1 FROM files WHERE uid = ?`, uid).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("file exists", err)
}

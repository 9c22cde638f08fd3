package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authcube/authcube/store"
)

const fileColumns = `id, uid, owner_id, name, content_type, size, public, complete, created_at`

func scanFile(row interface{ Scan(...any) error }) (store.File, error) {
	var f store.File
	var created int64
	err := row.Scan(&f.ID, &f.UID, &f.OwnerID, &f.Name, &f.ContentType, &f.Size, &f.Public, &f.Complete, &created)
	f.CreatedAt = fromMS(created)
	return f, err
}

// CreateFile implements [store.Store].
func (s *Store) CreateFile(ctx context.Context, sessionHash [32]byte, f store.File) (int64, error) {
	var id int64
	err := s.w.do(ctx, createFile(sessionHash, f, &id))
	return id, wrap("create file", err)
}

var _ store.LazyFiles = (*Store)(nil)

// CreateFileLazily implements [store.LazyFiles]: the insert commits at synchronous=NORMAL (see
// writer.doLazy) when no durable write shares its batch.
func (s *Store) CreateFileLazily(ctx context.Context, sessionHash [32]byte, f store.File) (int64, error) {
	var id int64
	err := s.w.doLazy(ctx, createFile(sessionHash, f, &id))
	return id, wrap("create file", err)
}

func createFile(sessionHash [32]byte, f store.File, id *int64) func(tx *wtx) error {
	return func(tx *wtx) error {
		if err := sessionActsFor(tx, sessionHash, f.OwnerID); err != nil {
			return err
		}
		return tx.queryRow(`INSERT INTO files (uid, owner_id, name, content_type, public, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, f.UID, f.OwnerID, f.Name, f.ContentType, f.Public, ms(f.CreatedAt)).Scan(id)
	}
}

// CompleteFile implements [store.Store].
func (s *Store) CompleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID, size int64, contentType string) (store.File, error) {
	var f store.File
	err := s.w.do(ctx, func(tx *wtx) error {
		if err := sessionActsFor(tx, sessionHash, ownerID); err != nil {
			return err
		}
		var err error
		f, err = scanFile(tx.queryRow(`UPDATE files SET complete = 1, size = ?, content_type = ?
			WHERE uid = ? AND owner_id = ? AND complete = 0 RETURNING `+fileColumns, size, contentType, uid, ownerID))
		return notFound(err)
	})
	return f, wrap("complete file", err)
}

// File implements [store.Store].
func (s *Store) File(ctx context.Context, uid string) (store.File, error) {
	return s.fileWhere(ctx, "file", `uid = ?`, uid)
}

// FileByID implements [store.Store].
func (s *Store) FileByID(ctx context.Context, id int64) (store.File, error) {
	return s.fileWhere(ctx, "file by id", `id = ?`, id)
}

func (s *Store) fileWhere(ctx context.Context, op, where string, arg any) (store.File, error) {
	var f store.File
	err := s.readRow(ctx, `SELECT `+fileColumns+` FROM files WHERE `+where, []any{arg}, func(r row) (err error) {
		f, err = scanFile(r)
		return err
	})
	return f, wrap(op, notFound(err))
}

// UserFiles implements [store.Store].
func (s *Store) UserFiles(ctx context.Context, ownerID, afterID int64, offset, limit, totalCap int) ([]store.File, int, error) {
	var files []store.File
	err := s.read(ctx, `SELECT `+fileColumns+` FROM files WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ? OFFSET ?`,
		[]any{ownerID, afterID, limit, offset}, func(r row) error {
			f, err := scanFile(r)
			files = append(files, f)
			return err
		})
	if err != nil {
		return nil, 0, wrap("user files", err)
	}
	var total int
	err = s.readRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM files WHERE owner_id = ? LIMIT ?)`,
		[]any{ownerID, totalCap}, scanInto(&total))
	return files, total, wrap("count user files", err)
}

// RenameFile implements [store.Store].
func (s *Store) RenameFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64, name string) (store.File, error) {
	var f store.File
	err := s.w.do(ctx, func(tx *wtx) error {
		if err := sessionActsFor(tx, sessionHash, ownerID); err != nil {
			return err
		}
		var err error
		f, err = scanFile(tx.queryRow(`UPDATE files SET name = ? WHERE uid = ? AND owner_id = ? RETURNING `+fileColumns, name, uid, ownerID))
		return notFound(err)
	})
	return f, wrap("rename file", err)
}

// DeleteFile implements [store.Store].
func (s *Store) DeleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64) error {
	return wrap("delete file", s.w.do(ctx, func(tx *wtx) error {
		if err := sessionActsFor(tx, sessionHash, ownerID); err != nil {
			return err
		}
		if err := affected(tx.exec(`DELETE FROM files WHERE uid = ? AND owner_id = ?`, uid, ownerID)); err != nil {
			return err
		}
		_, err := tx.exec(`UPDATE users SET avatar_uid = '' WHERE id = ? AND avatar_uid = ?`, ownerID, uid)
		return err
	}))
}

// DeletePendingFiles implements [store.Store].
func (s *Store) DeletePendingFiles(ctx context.Context, before time.Time) ([]string, error) {
	var uids []string
	err := s.w.do(ctx, func(tx *wtx) error {
		uids = nil
		return tx.query(`DELETE FROM files WHERE complete = 0 AND created_at < ? RETURNING uid`, []any{ms(before)},
			func(r row) error {
				uids = append(uids, r.Text(0))
				return nil
			})
	})
	return uids, wrap("delete pending files", err)
}

// FileExists implements [store.Store].
func (s *Store) FileExists(ctx context.Context, uid string) (bool, error) {
	var one int
	err := s.readRow(ctx, `SELECT 1 FROM files WHERE uid = ?`, []any{uid}, scanInto(&one))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("file exists", err)
}

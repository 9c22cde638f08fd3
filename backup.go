package authcube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/internal/fsync"
	"github.com/authcube/authcube/store"
)

// Backup writes a consistent copy of the live engine into the directory path, which must not
// exist: the database (with the session activity buffered in memory written first), the files
// and the key of device tokens. The copy opens as an engine. It is built in a temporary directory beside path and
// renamed into place, so path never holds half a backup. File bytes are hard-linked where the
// filesystem allows (they never change) while file deletion is paused, so every file the copied
// database names is in the copy. A blob store that cannot link its blobs (Config.Blobs from
// blob/s3, which lacks [blob.Linker]) keeps the bytes out of the backup: they stay in the
// bucket, and keeping the bytes of files deleted after the backup (bucket versioning or
// replication) is the operator's part. Calls go on meanwhile; writes that commit after the
// copy's snapshot are not in it.
func (e *Engine) Backup(ctx context.Context, path string) error {
	const op = "backup"
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.done()
	bs, ok := e.store.(store.Backuper)
	if !ok {
		return &Error{Code: CodeInternal, Op: op, Message: "the store cannot make backups"}
	}
	if _, err := os.Lstat(path); err == nil {
		return invalid(op, "path", "exists already")
	} else if !errors.Is(err, os.ErrNotExist) {
		return internal(op, err)
	}
	parent := filepath.Dir(path)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return internal(op, err)
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left to remove
	if err := e.flushActivity(ctx); err != nil {
		return internal(op, err)
	}

	// Pause file deletion from before the database snapshot until the bytes are linked.
	e.blobDeletes.Lock()
	err = bs.BackupTo(ctx, filepath.Join(tmp, "authcube.db"))
	if l, ok := e.blobs.(blob.Linker); ok && err == nil {
		err = l.Link(ctx, filepath.Join(tmp, "blobs"))
	}
	e.blobDeletes.Unlock()
	if err == nil && e.cfg.Dir != "" {
		err = fsync.WriteFile(tmp, deviceKeyFile, e.deviceKey, 0o600) // device tokens stay valid (S36)
	}
	if err != nil {
		return internal(op, fmt.Errorf("backup: %w", err))
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return internal(op, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return internal(op, err)
	}
	if err := fsync.Dir(parent); err != nil {
		return internal(op, err)
	}
	return nil
}

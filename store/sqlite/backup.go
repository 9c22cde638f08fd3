package sqlite

import (
	"context"
	"os"
)

// BackupTo writes a consistent copy of the database to path (which must not exist) with VACUUM
// INTO, and syncs it. It runs beside the writer and the readers; the copy holds every
// transaction committed before it started. It implements [store.Backuper], the optional ability
// authcube's Backup finds by type assertion.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if _, err := s.w.cp.db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return wrap("backup", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return wrap("backup", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return wrap("backup", err)
}

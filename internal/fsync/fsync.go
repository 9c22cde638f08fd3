// Package fsync makes changes to a directory durable. Creating, renaming or removing a file
// changes its directory, and on most Unix filesystems that change survives a crash only once
// the directory itself is synced; syncing the file is not enough.
package fsync

import (
	"os"
	"runtime"
)

// Dir syncs the directory at path so the entries created, renamed or removed in it are
// durable. On Windows it does nothing and returns nil: a directory cannot be synced there, and
// NTFS journals its metadata. Errors are those of opening, syncing and closing the directory.
func Dir(path string) error { return dir(os.Open, path) }

// DirIn is Dir for the directory name inside root (as resolved by root.Open, so it cannot
// escape root).
func DirIn(root *os.Root, name string) error { return dir(root.Open, name) }

func dir(open func(string) (*os.File, error), name string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := open(name)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

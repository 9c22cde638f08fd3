// Package fsync makes changes to a directory durable. Creating, renaming or removing a file
// changes its directory, and on most Unix filesystems that change survives a crash only once
// the directory itself is synced; syncing the file is not enough.
package fsync

import (
	"os"
	"path/filepath"
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

// WriteFile writes b to dir/name so that a crash leaves either the old file or the whole new
// one: into a temporary file beside it (mode perm), synced, renamed over name, and the
// directory synced. The temporary file is removed on failure.
func WriteFile(dir, name string, b []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err == nil {
		err = Dir(dir)
	}
	return err
}

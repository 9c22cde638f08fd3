package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/authcube/authcube/internal/fsync"
)

// Link implements [Linker]. dir gets the same layout as the store (dir/ab/abcdef…), so
// [OpenDir] can open the copy. Each blob is hard-linked where the filesystem allows and copied
// otherwise (another device, FAT); the files and directories are fsynced before Link returns
// nil. dir must not be inside the store. On error dir may hold part of the blobs: the caller
// removes it.
//
// A hard link between two roots needs paths, so this is the one place a file inside is named by
// path rather than reached through the root: each link is checked to be the very file the root
// opened, and is replaced by a copy of that file when it is not.
func (d *Dir) Link(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: link: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("blob: link: %w", err)
	}
	if rel, err := filepath.Rel(d.path, abs); err == nil &&
		rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return errors.New("blob: link: destination inside the store")
	}
	_, statErr := os.Stat(abs)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return failf("link", err)
	}
	if entries, err := os.ReadDir(abs); err != nil {
		return failf("link", err)
	} else if len(entries) > 0 {
		return fmt.Errorf("blob: link: destination not empty: %w", fs.ErrExist)
	}
	dst, err := os.OpenRoot(abs)
	if err != nil {
		return failf("link", err)
	}
	defer dst.Close()

	made := make(map[string]bool)
	err = d.walk(ctx, "link", func(uid string) error {
		return d.linkOne(dst, abs, uid, made)
	})
	if err != nil {
		return err
	}
	for sub := range made {
		if err := fsync.DirIn(dst, sub); err != nil {
			return failf("link", err)
		}
	}
	if err := fsync.DirIn(dst, "."); err != nil {
		return failf("link", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := fsync.Dir(filepath.Dir(abs)); err != nil {
			return failf("link", err)
		}
	}
	return nil
}

// linkOne links or copies one blob into dst, whose path is dstPath. A blob deleted meanwhile is
// skipped.
func (d *Dir) linkOne(dst *os.Root, dstPath, uid string, made map[string]bool) error {
	sub, name := uid[:2], uidPath(uid)
	src, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return failf("link", err)
	}
	defer src.Close()
	si, err := src.Stat()
	if err != nil {
		return failf("link", err)
	}
	if !si.Mode().IsRegular() {
		return errors.New("blob: link: not a regular file")
	}
	if !made[sub] {
		if err := dst.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return failf("link", err)
		}
		made[sub] = true
	}
	if err := os.Link(filepath.Join(d.path, name), filepath.Join(dstPath, name)); err == nil {
		di, err := dst.Lstat(name)
		if err == nil && os.SameFile(si, di) {
			return nil
		}
		// The path no longer led to the file the root opened: copy that file instead.
		if err := dst.Remove(name); err != nil {
			return failf("link", err)
		}
	} else if errors.Is(err, fs.ErrExist) {
		return failf("link", err)
	}
	return copyInto(dst, name, src)
}

// copyInto writes the bytes of src to a new file name in dst and fsyncs it, removing it on
// failure.
func copyInto(dst *os.Root, name string, src io.Reader) error {
	out, err := dst.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return failf("link", err)
	}
	_, err = io.Copy(out, src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = dst.Remove(name)
		return failf("link", err)
	}
	return nil
}

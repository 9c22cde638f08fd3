package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/authcube/authcube/internal/fsync"
)

// tmpPrefix starts the name of every file Put has not finished; OpenDir removes them.
const tmpPrefix = ".tmp-"

// headLen is how many leading bytes Put returns for content sniffing (what
// http.DetectContentType looks at).
const headLen = 512

// Dir is the filesystem [Store]: blob abcdef… lives at PATH/ab/abcdef…, fanned out by its first
// two hex characters into at most 256 subdirectories, created on demand. Every access to a file
// inside goes through an [os.Root], so besides [ValidUID] the OS layer refuses escapes, symlinks
// pointing out and NUL. Files are 0600 and directories 0700.
//
// A Dir is safe for concurrent use. One Dir at a time, in one process, may use a directory:
// [OpenDir] removes the temp files of unfinished writes (authcube holds a lock on its data
// directory to ensure this).
type Dir struct {
	root *os.Root
	path string // absolute, for Link's hard links (the one access not through root; verified)

	// subSynced[i] is set once subdirectory i is known to exist with its entry durable in the
	// top directory, so Put fsyncs the top directory only the first time.
	subSynced [256]atomic.Bool

	// mu makes Put's check-then-rename exclusive where hard links are impossible.
	mu sync.Mutex

	link func(oldname, newname string) error // root.Link; tests replace it to take the fallback
}

// OpenDir opens the blob store under path, creating the directory (0700, and missing parents)
// when missing, and removes stray temp files a crash left behind. Close it when done.
func OpenDir(path string) (*Dir, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("blob: open dir: %w", err)
	}
	_, statErr := os.Stat(abs)
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("blob: open dir: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := fsync.Dir(filepath.Dir(abs)); err != nil {
			return nil, fmt.Errorf("blob: open dir: %w", err)
		}
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("blob: open dir: %w", err)
	}
	d := &Dir{root: root, path: abs, link: root.Link}
	if err := d.sweep(); err != nil {
		_ = root.Close()
		return nil, err
	}
	return d, nil
}

// sweep removes temp files and marks the existing subdirectories, then fsyncs the top directory
// so those subdirectories' entries are durable. A removal lost to a crash is simply redone.
func (d *Dir) sweep() error {
	names, err := readDirNames(d.root, ".")
	if err != nil {
		return failf("open dir", err)
	}
	for _, e := range names {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := d.root.Remove(e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return failf("open dir", err)
			}
			continue
		}
		sub := e.Name()
		i, ok := subIndex(sub)
		if !ok || !e.IsDir() {
			continue
		}
		err := eachEntry(d.root, sub, func(e fs.DirEntry) error {
			if !strings.HasPrefix(e.Name(), tmpPrefix) {
				return nil
			}
			err := d.root.Remove(filepath.Join(sub, e.Name()))
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		})
		if err != nil {
			return failf("open dir", err)
		}
		d.subSynced[i].Store(true)
	}
	if err := fsync.DirIn(d.root, "."); err != nil {
		return failf("open dir", err)
	}
	return nil
}

// Put implements [Store.Put]: it writes a temp file in the blob's subdirectory, fsyncs it, links
// (or, where links are impossible, renames) it to its name, and fsyncs the subdirectory. A hard
// link refuses an existing name atomically, where a rename would replace it. The temp file is
// removed on every failure.
func (d *Dir) Put(ctx context.Context, uid string, r io.Reader, max int64) (int64, []byte, error) {
	if !ValidUID(uid) {
		return 0, nil, ErrInvalidUID
	}
	if max < 0 {
		return 0, nil, errors.New("blob: put: negative limit")
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, fmt.Errorf("blob: put: %w", err)
	}
	sub, name := uid[:2], uidPath(uid)
	// Refuse a duplicate before reading the body; commit checks again, atomically.
	if _, err := d.root.Lstat(name); err == nil {
		return 0, nil, errExist("put")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, nil, failf("put", err)
	}
	if err := d.makeSub(sub); err != nil {
		return 0, nil, err
	}
	tmp, f, err := d.createTemp(sub)
	if err != nil {
		return 0, nil, err
	}
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = d.root.Remove(tmp)
		}
	}()
	size, head, err := copyCapped(ctx, f, r, max)
	if err != nil {
		return 0, nil, err
	}
	if err := f.Sync(); err != nil {
		return 0, nil, failf("put", err)
	}
	if err := f.Close(); err != nil {
		return 0, nil, failf("put", err)
	}
	if err := d.commit(tmp, name); err != nil {
		return 0, nil, err
	}
	done = true
	if err := fsync.DirIn(d.root, sub); err != nil {
		// Not known durable, so not kept: an error from Put always means no blob.
		_ = d.root.Remove(name)
		return 0, nil, failf("put", err)
	}
	return size, head, nil
}

// copyCapped copies r to w, reading at most max+1 bytes so an endless body is cut at the cap,
// and checking ctx before every read.
func copyCapped(ctx context.Context, w io.Writer, r io.Reader, max int64) (int64, []byte, error) {
	limit := max + 1
	if max == 1<<63-1 {
		limit = max
	}
	r = io.LimitReader(r, limit)
	buf := make([]byte, 32<<10)
	head := make([]byte, 0, headLen)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, nil, fmt.Errorf("blob: put: %w", err)
		}
		n, rerr := r.Read(buf)
		size += int64(n)
		if size > max {
			return 0, nil, ErrTooLarge
		}
		head = append(head, buf[:min(n, headLen-len(head))]...)
		if _, err := w.Write(buf[:n]); err != nil {
			return 0, nil, failf("put", err)
		}
		if rerr == io.EOF {
			return size, head, nil
		}
		if rerr != nil {
			return 0, nil, fmt.Errorf("blob: put: read: %w", rerr)
		}
	}
}

// makeSub creates the subdirectory sub when missing and makes its entry durable, once per Dir.
func (d *Dir) makeSub(sub string) error {
	i, _ := subIndex(sub)
	if d.subSynced[i].Load() {
		return nil
	}
	if err := d.root.Mkdir(sub, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return failf("put", err)
	}
	if err := fsync.DirIn(d.root, "."); err != nil {
		return failf("put", err)
	}
	d.subSynced[i].Store(true)
	return nil
}

// createTemp creates a new, empty temp file in sub and returns its name inside the root.
func (d *Dir) createTemp(sub string) (string, *os.File, error) {
	for range 10 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		name := filepath.Join(sub, tmpPrefix+hex.EncodeToString(b[:]))
		f, err := d.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return name, f, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", nil, failf("put", err)
		}
	}
	return "", nil, errors.New("blob: put: no unused temp file name")
}

// commit gives the finished temp file its name, refusing a name that exists.
func (d *Dir) commit(tmp, name string) error {
	err := d.link(tmp, name)
	if err == nil {
		// A leftover temp name after a crash here is swept by the next OpenDir.
		_ = d.root.Remove(tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return errExist("put")
	}
	// No hard links here (FAT, some network filesystems): check, then rename. Only this Dir
	// writes the directory, so the lock makes the pair atomic.
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.root.Lstat(name); err == nil {
		return errExist("put")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return failf("put", err)
	}
	if err := d.root.Rename(tmp, name); err != nil {
		return failf("put", err)
	}
	return nil
}

// Open implements [Store.Open]. The returned *os.File comes from the root. Anything at the
// blob's name that is not a regular file (a planted symlink, even one pointing inside) is
// refused with an error other than ErrNotFound.
func (d *Dir) Open(ctx context.Context, uid string) (io.ReadSeekCloser, int64, error) {
	if !ValidUID(uid) {
		return nil, 0, ErrInvalidUID
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	name := uidPath(uid)
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, failf("open", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, failf("open", err)
	}
	// The name must be the very regular file just opened, not a link the root followed.
	li, err := d.root.Lstat(name)
	if err != nil {
		_ = f.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, ErrNotFound
		}
		return nil, 0, failf("open", err)
	}
	if !fi.Mode().IsRegular() || !li.Mode().IsRegular() || !os.SameFile(fi, li) {
		_ = f.Close()
		return nil, 0, errors.New("blob: open: not a regular file")
	}
	return f, fi.Size(), nil
}

// Delete implements [Store.Delete]. On Windows, deleting a blob that is open may fail.
func (d *Dir) Delete(ctx context.Context, uid string) error {
	if !ValidUID(uid) {
		return ErrInvalidUID
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	if err := d.root.Remove(uidPath(uid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return failf("delete", err)
	}
	return nil
}

// List implements [Store.List]. Only regular files with a valid UID name in the right
// subdirectory count; temp files and anything else are skipped.
func (d *Dir) List(ctx context.Context, fn func(uid string) error) error {
	return d.walk(ctx, "list", fn)
}

// walk calls fn for every blob, checking ctx before each. Errors of fn come back unchanged.
func (d *Dir) walk(ctx context.Context, op string, fn func(uid string) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: %s: %w", op, err)
	}
	subs, err := readDirNames(d.root, ".")
	if err != nil {
		return failf(op, err)
	}
	for _, s := range subs {
		if _, ok := subIndex(s.Name()); !ok || !s.IsDir() {
			continue
		}
		var fnErr error
		err := eachEntry(d.root, s.Name(), func(e fs.DirEntry) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			uid := e.Name()
			if !ValidUID(uid) || uid[:2] != s.Name() || !e.Type().IsRegular() {
				return nil
			}
			fnErr = fn(uid)
			return fnErr
		})
		if err != nil {
			if fnErr != nil {
				return fnErr
			}
			return failf(op, err) // a ctx error comes back as "blob: op: context canceled"
		}
	}
	return nil
}

// Close releases the directory. Close may be called more than once.
func (d *Dir) Close() error {
	if err := d.root.Close(); err != nil {
		return failf("close", err)
	}
	return nil
}

func uidPath(uid string) string { return filepath.Join(uid[:2], uid) }

// subIndex reports whether name is a fan-out subdirectory name (two lowercase hex characters)
// and which one.
func subIndex(name string) (int, bool) {
	if len(name) != 2 || !isLowerHex(name[0]) || !isLowerHex(name[1]) {
		return 0, false
	}
	b, _ := hex.DecodeString(name)
	return int(b[0]), true
}

// readDirNames lists a whole directory of the root (the top holds at most 256 subdirectories).
func readDirNames(root *os.Root, dir string) ([]fs.DirEntry, error) {
	f, err := root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// eachEntry calls fn for every entry of a directory of the root, a batch at a time so a large
// subdirectory is never held in memory whole.
func eachEntry(root *os.Root, dir string, fn func(fs.DirEntry) error) error {
	f, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(512)
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func errExist(op string) error { return fmt.Errorf("blob: %s: %w", op, fs.ErrExist) }

// failf wraps an OS error for op, dropping the path it names: paths hold UIDs, which are read
// capabilities and must not reach logs.
func failf(op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("blob: %s: %s: %w", op, pe.Op, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("blob: %s: %s: %w", op, le.Op, le.Err)
	}
	return fmt.Errorf("blob: %s: %w", op, err)
}

package blob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/blob/blobtest"
)

// newDir opens a store in a fresh directory and returns it with its path.
func newDir(t *testing.T) (*blob.Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blobs")
	d, err := blob.OpenDir(path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d, path
}

// files lists every non-directory (regular files, temp files, symlinks) under root.
func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func readBlob(t *testing.T, d blob.Store, uid string) []byte {
	t.Helper()
	f, size, err := d.Open(context.Background(), uid)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	require.EqualValues(t, len(b), size)
	return b
}

// TestDirConformance runs the blob.Store conformance suite against Dir; residue is every file
// under the directory, temp files included.
func TestDirConformance(t *testing.T) {
	blobtest.Run(t, blobtest.Harness{New: func(t *testing.T) (blob.Store, func() []string) {
		d, path := newDir(t)
		return d, func() []string { return files(t, path) }
	}})
}

// TestDirLayout checks what is particular to Dir: fan-out, modes, and Open's *os.File.
func TestDirLayout(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	uid := blobtest.UIDs(t, 1, 1)[0]
	data := blobtest.Bytes(1, 100_000)

	size, head, err := d.Put(ctx, uid, bytes.NewReader(data), 1<<20)
	require.NoError(t, err)
	assert.EqualValues(t, len(data), size)
	assert.Equal(t, data[:512], head)
	assert.Equal(t, []string{uid[:2] + "/" + uid}, files(t, path), "fanned out, no temp file left")

	f, n, err := d.Open(ctx, uid)
	require.NoError(t, err)
	defer f.Close()
	assert.EqualValues(t, len(data), n)
	_, isFile := f.(*os.File)
	assert.True(t, isFile, "Open returns the *os.File")
	_, err = f.Seek(99_990, io.SeekStart)
	require.NoError(t, err)
	tail, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, data[99_990:], tail)
	assert.Equal(t, data, readBlob(t, d, uid))

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(path, uid[:2], uid))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
		fi, err = os.Stat(filepath.Join(path, uid[:2]))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
	}
}

func TestOpenDoesNotFollowSymlinks(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o600))
	us := blobtest.UIDs(t, 8, 4)
	_, _, err := d.Put(ctx, us[3], strings.NewReader("inside"), 10)
	require.NoError(t, err)

	targets := map[string]string{
		"absolute path out": outside,
		"relative path out": filepath.Join("..", "..", "..", filepath.Base(filepath.Dir(outside)), "secret"),
		"another blob":      filepath.Join("..", us[3][:2], us[3]),
	}
	if _, err := os.Stat("/etc/hostname"); err == nil {
		targets["etc hostname"] = "/etc/hostname"
	}
	i := 0
	for name, target := range targets {
		uid := us[i%3]
		i++
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.MkdirAll(filepath.Join(path, uid[:2]), 0o700))
			link := filepath.Join(path, uid[:2], uid)
			_ = os.Remove(link)
			if err := os.Symlink(target, link); err != nil {
				t.Skip("symlinks unsupported:", err)
			}
			_, err := os.ReadFile(link)
			require.NoError(t, err, "the planted link works outside the root")
			f, _, err := d.Open(ctx, uid)
			require.Error(t, err)
			assert.Nil(t, f)
			assert.NotErrorIs(t, err, blob.ErrNotFound, "tampering is not a missing blob")
			assert.NotContains(t, err.Error(), uid, "errors never carry a UID")

			var seen []string
			require.NoError(t, d.List(ctx, func(u string) error { seen = append(seen, u); return nil }))
			assert.Equal(t, []string{us[3]}, seen, "List skips symlinks")
		})
	}
}

func TestOpenDirRemovesStrayTempFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blobs")
	d, err := blob.OpenDir(path)
	require.NoError(t, err)
	uid := blobtest.UIDs(t, 9, 1)[0]
	_, _, err = d.Put(context.Background(), uid, strings.NewReader("kept"), 10)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "Close twice")

	// What a crash mid-Put leaves behind.
	require.NoError(t, os.WriteFile(filepath.Join(path, uid[:2], ".tmp-0123abcd"), []byte("half"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(path, "ff"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(path, "ff", ".tmp-ffff"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(path, ".tmp-top"), nil, 0o600))

	d, err = blob.OpenDir(path)
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, []string{uid[:2] + "/" + uid}, files(t, path))
	assert.Equal(t, "kept", string(readBlob(t, d, uid)))
}

func listAll(t *testing.T, s blob.Store) []string {
	t.Helper()
	var got []string
	require.NoError(t, s.List(context.Background(), func(uid string) error {
		got = append(got, uid)
		return nil
	}))
	slices.Sort(got)
	return got
}

func TestListSeesExactlyTheStoredUIDs(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	us := blobtest.UIDs(t, 10, 50)
	for i, uid := range us {
		_, _, err := d.Put(ctx, uid, bytes.NewReader(blobtest.Bytes(byte(i), i)), 100)
		require.NoError(t, err)
	}
	// Things that are not blobs: an in-progress temp file, junk, a UID in the wrong directory.
	other := blobtest.UIDs(t, 11, 1)[0]
	wrong := "00"
	if other[:2] == wrong {
		wrong = "01"
	}
	for _, p := range []string{
		us[0][:2] + "/.tmp-inprogress", us[0][:2] + "/notauid", "README",
		wrong + "/" + other, "zz/" + other, strings.ToUpper(other[:2]) + "/" + other,
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(path, filepath.Dir(p)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(path, p), nil, 0o600))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(path, us[1][:2], us[1][:2]+strings.Repeat("0", 30)), 0o700))

	want := slices.Clone(us)
	slices.Sort(want)
	assert.Equal(t, want, listAll(t, d))

	stop := errors.New("stop")
	calls := 0
	err := d.List(ctx, func(string) error { calls++; return stop })
	assert.Same(t, stop, err, "fn's error comes back unchanged")
	assert.Equal(t, 1, calls)

	require.NoError(t, d.Delete(ctx, us[0]))
	want = slices.DeleteFunc(want, func(u string) bool { return u == us[0] })
	assert.Equal(t, want, listAll(t, d), "a deleted blob is no longer listed")
}

// S27: a UID is 128 bits from the random source, every one of them: the 16 bytes read are the
// UID, in lower-case hex, and a source that fails or runs short gives an error, never a UID
// with fewer random bits.
func TestNewUIDIsAll128RandomBits(t *testing.T) {
	src := bytes.NewReader([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff\x42"))
	uid, err := blob.NewUID(src)
	require.NoError(t, err)
	assert.Equal(t, "000102030405060708090a0b0c0d0e0f", uid)
	assert.True(t, blob.ValidUID(uid))
	uid, err = blob.NewUID(src)
	require.NoError(t, err)
	assert.Equal(t, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", uid, "the next 16 bytes")
	_, err = blob.NewUID(src) // one byte left
	require.Error(t, err)
	_, err = blob.NewUID(iotest.ErrReader(errors.New("no randomness")))
	require.Error(t, err)
}

// TestListReadsLargeSubdirectories: subdirectories are read a batch of 512 entries at a time;
// List and OpenDir's sweep of temp files go through every batch (found by mutation testing,
// scripts/mutation.sh). The files are written directly, as Put would leave them.
func TestListReadsLargeSubdirectories(t *testing.T) {
	d, path := newDir(t)
	require.NoError(t, os.MkdirAll(filepath.Join(path, "ab"), 0o700))
	var want []string
	for i := range 1100 {
		uid := fmt.Sprintf("ab%030x", i)
		want = append(want, uid)
		require.NoError(t, os.WriteFile(filepath.Join(path, "ab", uid), nil, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(path, "ab", fmt.Sprintf(".tmp-%04d", i)), nil, 0o600))
	}
	assert.Equal(t, want, listAll(t, d))

	require.NoError(t, d.Close())
	d, err := blob.OpenDir(path)
	require.NoError(t, err)
	defer d.Close()
	left, err := os.ReadDir(filepath.Join(path, "ab"))
	require.NoError(t, err)
	assert.Len(t, left, len(want), "every temp file swept")
	assert.Equal(t, want, listAll(t, d))
}

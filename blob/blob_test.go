package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/blob"
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

// uids returns n distinct UIDs from a seeded source.
func uids(t *testing.T, seed byte, n int) []string {
	t.Helper()
	src := rand.NewChaCha8([32]byte{seed})
	out := make([]string, n)
	for i := range out {
		u, err := blob.NewUID(src)
		require.NoError(t, err)
		require.True(t, blob.ValidUID(u))
		out[i] = u
	}
	return out
}

func randBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed, 1}).Read(b)
	return b
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

func TestPutOpenRoundTrip(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	uid := uids(t, 1, 1)[0]
	data := randBytes(1, 100_000)

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

func TestPutSizeAndHead(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 32 << 10, 32<<10 + 1} {
		t.Run("", func(t *testing.T) {
			d, _ := newDir(t)
			uid := uids(t, 2, 1)[0]
			data := randBytes(2, n)
			size, head, err := d.Put(context.Background(), uid, bytes.NewReader(data), int64(n))
			require.NoError(t, err, "exactly the cap is accepted")
			assert.EqualValues(t, n, size)
			assert.Equal(t, data[:min(n, 512)], head)
			assert.Equal(t, data, readBlob(t, d, uid))
		})
	}
}

// countingReader is an endless stream of bytes that counts what was read.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	clear(p)
	r.n += int64(len(p))
	return len(p), nil
}

func TestPutOverTheCapKeepsNothing(t *testing.T) {
	ctx := context.Background()
	t.Run("one byte over", func(t *testing.T) {
		d, path := newDir(t)
		uid := uids(t, 3, 1)[0]
		_, _, err := d.Put(ctx, uid, bytes.NewReader(randBytes(3, 1001)), 1000)
		require.ErrorIs(t, err, blob.ErrTooLarge)
		assert.Empty(t, files(t, path), "no blob and no temp file")
		_, _, err = d.Open(ctx, uid)
		assert.ErrorIs(t, err, blob.ErrNotFound)
	})
	t.Run("endless body is cut at the cap", func(t *testing.T) {
		d, path := newDir(t)
		r := &countingReader{}
		_, _, err := d.Put(ctx, uids(t, 3, 1)[0], r, 100_000)
		require.ErrorIs(t, err, blob.ErrTooLarge)
		assert.LessOrEqual(t, r.n, int64(100_001), "never reads beyond max+1")
		assert.Empty(t, files(t, path))
	})
	t.Run("zero cap", func(t *testing.T) {
		d, path := newDir(t)
		_, _, err := d.Put(ctx, uids(t, 3, 1)[0], strings.NewReader("x"), 0)
		require.ErrorIs(t, err, blob.ErrTooLarge)
		assert.Empty(t, files(t, path))
	})
	t.Run("negative cap", func(t *testing.T) {
		d, path := newDir(t)
		_, _, err := d.Put(ctx, uids(t, 3, 1)[0], strings.NewReader(""), -1)
		require.Error(t, err)
		assert.Empty(t, files(t, path))
	})
}

// failingReader returns n good bytes, then calls hook (if any) and fails.
type failingReader struct {
	n    int
	err  error
	hook func()
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		if r.hook != nil {
			r.hook()
			r.hook = nil
			return copy(p, "more bytes"), nil
		}
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func TestPutFailureMidwayKeepsNothing(t *testing.T) {
	boom := errors.New("connection reset")
	t.Run("reader error", func(t *testing.T) {
		d, path := newDir(t)
		uid := uids(t, 4, 1)[0]
		_, _, err := d.Put(context.Background(), uid, &failingReader{n: 100_000, err: boom}, 1<<20)
		require.ErrorIs(t, err, boom)
		assert.Empty(t, files(t, path))
		_, _, err = d.Open(context.Background(), uid)
		assert.ErrorIs(t, err, blob.ErrNotFound)
	})
	t.Run("context cancelled", func(t *testing.T) {
		d, path := newDir(t)
		uid := uids(t, 4, 1)[0]
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := &failingReader{n: 100_000, err: io.EOF, hook: cancel}
		_, _, err := d.Put(ctx, uid, r, 1<<20)
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, files(t, path))
		_, _, err = d.Open(context.Background(), uid)
		assert.ErrorIs(t, err, blob.ErrNotFound)
	})
	t.Run("context cancelled before", func(t *testing.T) {
		d, path := newDir(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := d.Put(ctx, uids(t, 4, 1)[0], strings.NewReader("x"), 10)
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, files(t, path))
	})
}

func TestPutDuplicateIsRefused(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	uid := uids(t, 5, 1)[0]
	_, _, err := d.Put(ctx, uid, strings.NewReader("original"), 100)
	require.NoError(t, err)
	_, _, err = d.Put(ctx, uid, strings.NewReader("replacement"), 100)
	require.ErrorIs(t, err, fs.ErrExist)
	assert.NotContains(t, err.Error(), uid, "errors never carry a UID")
	assert.Equal(t, "original", string(readBlob(t, d, uid)))
	assert.Equal(t, []string{uid[:2] + "/" + uid}, files(t, path))
}

func TestOpenMissingAndDelete(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	uid := uids(t, 6, 1)[0]
	_, _, err := d.Open(ctx, uid)
	require.ErrorIs(t, err, blob.ErrNotFound)
	require.NoError(t, d.Delete(ctx, uid), "deleting a missing blob is not an error")

	_, _, err = d.Put(ctx, uid, strings.NewReader("x"), 10)
	require.NoError(t, err)
	require.NoError(t, d.Delete(ctx, uid))
	require.NoError(t, d.Delete(ctx, uid), "Delete is idempotent")
	_, _, err = d.Open(ctx, uid)
	assert.ErrorIs(t, err, blob.ErrNotFound)
	assert.Empty(t, files(t, path))

	_, _, err = d.Put(ctx, uid, strings.NewReader("again"), 10)
	require.NoError(t, err, "a deleted UID may be stored again")
}

func TestInvalidUIDsAreRefusedEverywhere(t *testing.T) {
	valid := uids(t, 7, 1)[0]
	cases := map[string]string{
		"empty":        "",
		"dot dot":      "../x",
		"dot dot uid":  "../" + valid[3:],
		"absolute":     "/etc/passwd",
		"nul":          "a\x00b",
		"nul in uid":   valid[:31] + "\x00",
		"31 chars":     valid[:31],
		"33 chars":     valid + "0",
		"upper case":   strings.ToUpper(valid[:1]) + "A" + valid[2:],
		"slash":        "ab/" + valid[3:],
		"backslash":    "ab\\" + valid[3:],
		"dot":          ".",
		"not hex":      "g" + valid[1:],
		"temp prefix":  ".tmp-" + valid[5:],
		"unicode":      "é" + valid[2:],
		"spaces":       " " + valid[1:],
		"windows path": `C:\` + valid[3:],
	}
	d, path := newDir(t)
	ctx := context.Background()
	for name, uid := range cases {
		t.Run(name, func(t *testing.T) {
			assert.False(t, blob.ValidUID(uid))
			_, _, err := d.Put(ctx, uid, strings.NewReader("x"), 10)
			assert.ErrorIs(t, err, blob.ErrInvalidUID)
			_, _, err = d.Open(ctx, uid)
			assert.ErrorIs(t, err, blob.ErrInvalidUID)
			assert.ErrorIs(t, d.Delete(ctx, uid), blob.ErrInvalidUID)
		})
	}
	assert.Empty(t, files(t, path))
	assert.True(t, blob.ValidUID(valid))
}

func TestOpenDoesNotFollowSymlinks(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("secret"), 0o600))
	us := uids(t, 8, 4)
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
	uid := uids(t, 9, 1)[0]
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
	us := uids(t, 10, 50)
	for i, uid := range us {
		_, _, err := d.Put(ctx, uid, bytes.NewReader(randBytes(byte(i), i)), 100)
		require.NoError(t, err)
	}
	// Things that are not blobs: an in-progress temp file, junk, a UID in the wrong directory.
	other := uids(t, 11, 1)[0]
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

func TestConcurrentUse(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	const workers, rounds = 20, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r, uid := range uids(t, byte(100+w), rounds) {
				data := randBytes(byte(w*rounds+r), 1000+w*r)
				size, _, err := d.Put(ctx, uid, bytes.NewReader(data), 1<<20)
				if !assert.NoError(t, err) || !assert.EqualValues(t, len(data), size) {
					return
				}
				f, _, err := d.Open(ctx, uid)
				if !assert.NoError(t, err) {
					return
				}
				got, err := io.ReadAll(f)
				assert.NoError(t, err)
				assert.NoError(t, f.Close())
				assert.Equal(t, data, got)
				if r%2 == 0 {
					assert.NoError(t, d.Delete(ctx, uid))
				}
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			assert.NoError(t, d.List(ctx, func(string) error { return nil }))
		}
	})
	wg.Wait()
	assert.Len(t, listAll(t, d), workers*rounds/2)
	for _, f := range files(t, path) {
		assert.NotContains(t, f, ".tmp-")
	}
}

func TestClosedStoreFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blobs")
	d, err := blob.OpenDir(path)
	require.NoError(t, err)
	require.NoError(t, d.Close())
	uid := uids(t, 13, 1)[0]
	_, _, err = d.Put(context.Background(), uid, strings.NewReader("x"), 10)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), uid, "errors never carry a UID")
	_, _, err = d.Open(context.Background(), uid)
	assert.Error(t, err)
	assert.Error(t, d.List(context.Background(), func(string) error { return nil }))
}

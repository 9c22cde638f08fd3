package blob_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/blob/blobtest"
)

func TestLinkMakesABackup(t *testing.T) {
	d, path := newDir(t)
	ctx := context.Background()
	us := blobtest.UIDs(t, 12, 20)
	for i, uid := range us {
		_, _, err := d.Put(ctx, uid, bytes.NewReader(blobtest.Bytes(byte(i), 1000+i)), 1<<20)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(path, us[0][:2], ".tmp-inprogress"), nil, 0o600))

	backup := filepath.Join(t.TempDir(), "backup", "blobs")
	require.NoError(t, d.Link(ctx, backup))
	for i, uid := range us {
		src, err := os.Stat(filepath.Join(path, uid[:2], uid))
		require.NoError(t, err)
		dst, err := os.Stat(filepath.Join(backup, uid[:2], uid))
		require.NoError(t, err)
		if runtime.GOOS != "windows" {
			assert.True(t, os.SameFile(src, dst), "a hard link on one filesystem")
		}
		got, err := os.ReadFile(filepath.Join(backup, uid[:2], uid))
		require.NoError(t, err)
		assert.Equal(t, blobtest.Bytes(byte(i), 1000+i), got)
	}

	b, err := blob.OpenDir(backup)
	require.NoError(t, err)
	defer b.Close()
	want := slices.Clone(us)
	slices.Sort(want)
	assert.Equal(t, want, listAll(t, b), "the backup is a store; temp files are not copied")

	// Deleting from the store leaves the backup's link intact.
	require.NoError(t, d.Delete(ctx, us[0]))
	assert.Equal(t, blobtest.Bytes(0, 1000), readBlob(t, b, us[0]))

	require.ErrorIs(t, d.Link(ctx, backup), fs.ErrExist, "destination not empty")
	empty := t.TempDir()
	require.NoError(t, d.Link(ctx, empty), "an existing empty directory is fine")
	assert.Len(t, files(t, empty), len(us)-1)
	assert.Error(t, d.Link(ctx, filepath.Join(path, "backup")), "not inside the store")
}

func TestLinkCopiesAcrossDevices(t *testing.T) {
	other, err := os.MkdirTemp("/dev/shm", "blobtest-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(other) })
	d, path := newDir(t)
	ctx := context.Background()
	us := blobtest.UIDs(t, 14, 5)
	for i, uid := range us {
		_, _, err := d.Put(ctx, uid, bytes.NewReader(blobtest.Bytes(byte(i), 5000)), 1<<20)
		require.NoError(t, err)
	}
	backup := filepath.Join(other, "blobs")
	require.NoError(t, d.Link(ctx, backup))
	for i, uid := range us {
		got, err := os.ReadFile(filepath.Join(backup, uid[:2], uid))
		require.NoError(t, err)
		assert.Equal(t, blobtest.Bytes(byte(i), 5000), got, "copied where links are impossible")
		fi, err := os.Stat(filepath.Join(backup, uid[:2], uid))
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
		src, err := os.Stat(filepath.Join(path, uid[:2], uid))
		require.NoError(t, err)
		if os.SameFile(src, fi) {
			t.Log("linked, not copied: the temp directory is on /dev/shm's filesystem")
		}
	}
	assert.Len(t, files(t, backup), len(us))
}

// cancelAfter is a context whose Err turns to context.Canceled after n calls: cancellation at
// a point the test chooses, with no goroutine racing the code under test.
type cancelAfter struct {
	context.Context
	n int
}

func (c *cancelAfter) Err() error {
	if c.n == 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// TestLinkCanceledPartway: a Link whose ctx is canceled while it walks the blobs fails with the
// context's error; it does not report the partial copy as done (found by mutation testing,
// scripts/mutation.sh).
func TestLinkCanceledPartway(t *testing.T) {
	d, _ := newDir(t)
	for i, uid := range blobtest.UIDs(t, 13, 5) {
		_, _, err := d.Put(context.Background(), uid, bytes.NewReader(blobtest.Bytes(byte(i), 10)), 1<<20)
		require.NoError(t, err)
	}
	// Link checks ctx once, the walk once before it starts and once before each blob.
	for n := 2; n <= 6; n++ {
		backup := filepath.Join(t.TempDir(), "blobs")
		err := d.Link(&cancelAfter{Context: context.Background(), n: n}, backup)
		require.ErrorIs(t, err, context.Canceled, "canceled after %d checks", n)
	}
	backup := filepath.Join(t.TempDir(), "blobs")
	require.NoError(t, d.Link(&cancelAfter{Context: context.Background(), n: 7}, backup))
	assert.Len(t, files(t, backup), 5)
}

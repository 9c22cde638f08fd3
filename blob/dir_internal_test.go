package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// racePuts stores the same UID from many goroutines at once: exactly one must win, the others
// must see fs.ErrExist, and the blob must hold the winner's bytes, whole.
func racePuts(t *testing.T, d *Dir) {
	t.Helper()
	const n = 16
	uid := "0123456789abcdef0123456789abcdef"
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		winner []string
	)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf("writer %02d %s", i, bytes.Repeat([]byte{'x'}, 40_000))
			_, _, err := d.Put(context.Background(), uid, bytes.NewReader([]byte(body)), 1<<20)
			if err == nil {
				mu.Lock()
				winner = append(winner, body)
				mu.Unlock()
				return
			}
			assert.ErrorIs(t, err, fs.ErrExist)
		})
	}
	wg.Wait()
	require.Len(t, winner, 1, "exactly one Put of a UID succeeds")
	f, _, err := d.Open(context.Background(), uid)
	require.NoError(t, err)
	defer f.Close()
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, winner[0], string(got))

	entries, err := os.ReadDir(filepath.Join(d.path, uid[:2]))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temp file left")
}

func TestConcurrentDuplicatePutsWithLinks(t *testing.T) {
	d, err := OpenDir(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	defer d.Close()
	racePuts(t, d)
}

func TestConcurrentDuplicatePutsWithoutLinks(t *testing.T) {
	d, err := OpenDir(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	defer d.Close()
	d.link = func(string, string) error { return errors.New("operation not permitted") }
	racePuts(t, d)
}

// failingReader returns some bytes, then an error.
type failingReader struct{ sent bool }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.sent {
		return 0, errors.New("read error")
	}
	r.sent = true
	return copy(p, "partial"), nil
}

// TestCopyIntoReadError: when reading the source fails partway, Link's copy reports the error
// and leaves no partial file (found by mutation testing, scripts/mutation.sh).
func TestCopyIntoReadError(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	require.NoError(t, err)
	defer root.Close()
	err = copyInto(root, "copy", &failingReader{})
	require.ErrorContains(t, err, "read error")
	_, err = root.Lstat("copy")
	assert.ErrorIs(t, err, fs.ErrNotExist, "the partial copy is removed")

	require.NoError(t, copyInto(root, "whole", bytes.NewReader([]byte("all of it"))))
	got, err := root.ReadFile("whole")
	require.NoError(t, err)
	assert.Equal(t, "all of it", string(got))
}

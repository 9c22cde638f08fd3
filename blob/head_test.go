package blob_test

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/blob"
)

// chunks reads r at most n bytes at a time.
type chunks struct {
	r io.Reader
	n int
}

func (c chunks) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// Put's head is the first 512 bytes however the reader splits them (found by mutation testing,
// scripts/mutation.sh).
func TestPutHeadAcrossReads(t *testing.T) {
	d, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	defer d.Close()
	data := bytes.Repeat([]byte("0123456789"), 100)
	for i, n := range []int{1, 300, 511, 512, 513, 1000} {
		uid := []string{"00000000000000000000000000000001", "00000000000000000000000000000002", "00000000000000000000000000000003",
			"00000000000000000000000000000004", "00000000000000000000000000000005", "00000000000000000000000000000006"}[i]
		size, head, err := d.Put(t.Context(), uid, chunks{bytes.NewReader(data), n}, 1<<20)
		require.NoError(t, err, "reads of %d", n)
		assert.Equal(t, int64(len(data)), size)
		assert.Equal(t, data[:512], head, "reads of %d", n)
	}
}

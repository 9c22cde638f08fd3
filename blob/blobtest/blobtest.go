// Package blobtest is the conformance suite for implementations of [blob.Store]: every store
// authcube ships (blob.Dir, blob/s3) runs it, and so can a custom one.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/blob"
)

// Harness tells the suite how to make stores.
type Harness struct {
	// New opens a fresh, empty store for one test and returns it with a function listing
	// everything the store's backing holds (files, objects, unfinished uploads, temp files),
	// one name per item, for the checks that a failed Put leaves nothing behind. The suite
	// closes the store; New registers any other cleanup with t.Cleanup. Required.
	New func(t *testing.T) (s blob.Store, residue func() []string)
	// Large is the size of a body big enough to take the store's path for large blobs (S3
	// multipart uploads); 0 means 1 MiB.
	Large int
}

// Run runs every test of the suite as a subtest of t.
func Run(t *testing.T, h Harness) {
	if h.Large == 0 {
		h.Large = 1 << 20
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"PutOpenRoundTrip", testRoundTrip},
		{"PutSizeAndHead", testSizeAndHead},
		{"PutLarge", testLarge},
		{"PutOverTheCapKeepsNothing", testOverCap},
		{"PutFailureMidwayKeepsNothing", testFailureMidway},
		{"PutInProgressIsInvisible", testInvisibleWhileWriting},
		{"PutDuplicateIsRefused", testDuplicate},
		{"PutGatedWaitsForReady", testGated},
		{"OpenMissingAndDelete", testMissingAndDelete},
		{"InvalidUIDsAreRefusedEverywhere", testInvalidUIDs},
		{"ListSeesExactlyTheStoredUIDs", testList},
		{"ConcurrentUse", testConcurrent},
		{"ClosedStoreFails", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

func open(t *testing.T, h Harness) (blob.Store, func() []string) {
	t.Helper()
	s, residue := h.New(t)
	t.Cleanup(func() { _ = s.Close() })
	return s, residue
}

// UIDs returns n distinct UIDs from a source seeded with seed.
func UIDs(t testing.TB, seed byte, n int) []string {
	t.Helper()
	src := rand.NewChaCha8([32]byte{seed})
	out := make([]string, n)
	for i := range out {
		u, err := blob.NewUID(src)
		require.NoError(t, err)
		out[i] = u
	}
	return out
}

// Bytes returns n bytes from a source seeded with seed.
func Bytes(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed, 1}).Read(b)
	return b
}

// Read opens the blob uid and returns all its bytes, checking the size Open reports.
func Read(t testing.TB, s blob.Store, uid string) []byte {
	t.Helper()
	f, size, err := s.Open(context.Background(), uid)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	require.EqualValues(t, len(b), size)
	return b
}

// ListAll returns the UIDs List reports, sorted.
func ListAll(t testing.TB, s blob.Store) []string {
	t.Helper()
	var got []string
	require.NoError(t, s.List(context.Background(), func(uid string) error {
		got = append(got, uid)
		return nil
	}))
	slices.Sort(got)
	return got
}

func testRoundTrip(t *testing.T, h Harness) {
	s, residue := open(t, h)
	ctx := context.Background()
	uid := UIDs(t, 1, 1)[0]
	data := Bytes(1, 100_000)

	size, head, err := s.Put(ctx, uid, bytes.NewReader(data), 1<<20)
	require.NoError(t, err)
	assert.EqualValues(t, len(data), size)
	assert.Equal(t, data[:512], head)
	assert.Len(t, residue(), 1, "one blob, nothing else")

	f, n, err := s.Open(ctx, uid)
	require.NoError(t, err)
	defer f.Close()
	assert.EqualValues(t, len(data), n)
	_, err = f.Seek(99_990, io.SeekStart)
	require.NoError(t, err)
	tail, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, data[99_990:], tail)

	// Seek relative to the current position and to the end, then read a little.
	pos, err := f.Seek(-50_000, io.SeekEnd)
	require.NoError(t, err)
	assert.EqualValues(t, 50_000, pos)
	pos, err = f.Seek(10, io.SeekCurrent)
	require.NoError(t, err)
	assert.EqualValues(t, 50_010, pos)
	buf := make([]byte, 100)
	_, err = io.ReadFull(f, buf)
	require.NoError(t, err)
	assert.Equal(t, data[50_010:50_110], buf)
	_, err = f.Seek(-1, io.SeekStart)
	assert.Error(t, err, "a negative position is refused")

	// Seeking past the end reads nothing.
	_, err = f.Seek(int64(len(data))+10, io.SeekStart)
	require.NoError(t, err)
	k, err := f.Read(buf)
	assert.Zero(t, k)
	assert.Equal(t, io.EOF, err)

	assert.Equal(t, data, Read(t, s, uid))
}

func testSizeAndHead(t *testing.T, h Harness) {
	s, _ := open(t, h)
	for k, body := range bodies {
		for i, n := range []int{0, 1, 511, 512, 513, 32 << 10, 32<<10 + 1} {
			uid := UIDs(t, byte(20+10*k+i), 1)[0]
			data := Bytes(2, n)
			size, head, err := s.Put(context.Background(), uid, body.of(data), int64(n))
			require.NoError(t, err, "exactly the cap is accepted (%d bytes, %s)", n, body.name)
			assert.EqualValues(t, n, size)
			assert.Equal(t, data[:min(n, 512)], head)
			assert.Equal(t, data, Read(t, s, uid))
		}
	}
}

// bodies are the two kinds of body a store may treat apart: one that says how many bytes it
// has (a *bytes.Reader), and a plain io.Reader.
var bodies = []struct {
	name string
	of   func(data []byte) io.Reader
}{
	{"sized", func(data []byte) io.Reader { return bytes.NewReader(data) }},
	{"streamed", func(data []byte) io.Reader { return struct{ io.Reader }{bytes.NewReader(data)} }},
}

// oneByteReader returns its bytes one Read at a time in small pieces, as a slow client does.
type smallReads struct {
	r io.Reader
	n int
}

func (r *smallReads) Read(p []byte) (int, error) { return r.r.Read(p[:min(len(p), r.n)]) }

func testLarge(t *testing.T, h Harness) {
	s, residue := open(t, h)
	ctx := context.Background()
	us := UIDs(t, 30, 3)
	for i, n := range []int{h.Large, h.Large + 1, 2*h.Large + 12345} {
		data := Bytes(byte(30+i), n)
		size, head, err := s.Put(ctx, us[i], &smallReads{bytes.NewReader(data), 7919}, int64(n))
		require.NoError(t, err)
		assert.EqualValues(t, n, size)
		assert.Equal(t, data[:512], head)
		assert.Equal(t, data, Read(t, s, us[i]))

		f, _, err := s.Open(ctx, us[i])
		require.NoError(t, err)
		_, err = f.Seek(int64(n-1000), io.SeekStart)
		require.NoError(t, err)
		tail, err := io.ReadAll(f)
		require.NoError(t, err)
		assert.Equal(t, data[n-1000:], tail)
		require.NoError(t, f.Close())
	}
	assert.Len(t, residue(), 3, "three blobs, nothing else")
}

// countingReader is an endless stream of bytes that counts what was read.
type countingReader struct{ n int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	clear(p)
	r.n += int64(len(p))
	return len(p), nil
}

func testOverCap(t *testing.T, h Harness) {
	ctx := context.Background()
	for _, body := range bodies {
		t.Run("one byte over, "+body.name, func(t *testing.T) {
			s, residue := open(t, h)
			uid := UIDs(t, 3, 1)[0]
			_, _, err := s.Put(ctx, uid, body.of(Bytes(3, 1001)), 1000)
			require.ErrorIs(t, err, blob.ErrTooLarge)
			assert.Empty(t, residue(), "nothing kept")
			_, _, err = s.Open(ctx, uid)
			assert.ErrorIs(t, err, blob.ErrNotFound)
		})
	}
	t.Run("large body one byte over", func(t *testing.T) {
		s, residue := open(t, h)
		uid := UIDs(t, 3, 1)[0]
		_, _, err := s.Put(ctx, uid, bytes.NewReader(Bytes(3, 2*h.Large+1)), int64(2*h.Large))
		require.ErrorIs(t, err, blob.ErrTooLarge)
		assert.Empty(t, residue(), "nothing kept, no unfinished upload")
		_, _, err = s.Open(ctx, uid)
		assert.ErrorIs(t, err, blob.ErrNotFound)
	})
	t.Run("endless body is cut at the cap", func(t *testing.T) {
		s, residue := open(t, h)
		r := &countingReader{}
		max := int64(h.Large + h.Large/2)
		_, _, err := s.Put(ctx, UIDs(t, 3, 1)[0], r, max)
		require.ErrorIs(t, err, blob.ErrTooLarge)
		assert.LessOrEqual(t, r.n, max+1, "never reads beyond max+1")
		assert.Empty(t, residue())
	})
	t.Run("zero cap", func(t *testing.T) {
		s, residue := open(t, h)
		_, _, err := s.Put(ctx, UIDs(t, 3, 1)[0], strings.NewReader("x"), 0)
		require.ErrorIs(t, err, blob.ErrTooLarge)
		assert.Empty(t, residue())
	})
	t.Run("negative cap", func(t *testing.T) {
		s, residue := open(t, h)
		_, _, err := s.Put(ctx, UIDs(t, 3, 1)[0], strings.NewReader(""), -1)
		require.Error(t, err)
		assert.Empty(t, residue())
	})
}

// failingReader returns n zero bytes, then calls hook (if any) once and fails with err.
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

func testFailureMidway(t *testing.T, h Harness) {
	boom := errors.New("connection reset")
	for _, n := range []int{100_000, 2*h.Large + 1} {
		t.Run("reader error", func(t *testing.T) {
			s, residue := open(t, h)
			uid := UIDs(t, 4, 1)[0]
			_, _, err := s.Put(context.Background(), uid, &failingReader{n: n, err: boom}, 1<<40)
			require.ErrorIs(t, err, boom)
			assert.Empty(t, residue())
			_, _, err = s.Open(context.Background(), uid)
			assert.ErrorIs(t, err, blob.ErrNotFound)
		})
		t.Run("context cancelled", func(t *testing.T) {
			s, residue := open(t, h)
			uid := UIDs(t, 4, 1)[0]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &failingReader{n: n, err: io.EOF, hook: cancel}
			_, _, err := s.Put(ctx, uid, r, 1<<40)
			require.ErrorIs(t, err, context.Canceled)
			assert.Empty(t, residue())
			_, _, err = s.Open(context.Background(), uid)
			assert.ErrorIs(t, err, blob.ErrNotFound)
		})
	}
	t.Run("context cancelled before", func(t *testing.T) {
		s, residue := open(t, h)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := s.Put(ctx, UIDs(t, 4, 1)[0], strings.NewReader("x"), 10)
		require.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, residue())
	})
}

// testInvisibleWhileWriting checks, from inside the body of a Put (small and large), that the
// blob is neither opened nor listed before Put returns.
func testInvisibleWhileWriting(t *testing.T, h Harness) {
	s, _ := open(t, h)
	ctx := context.Background()
	for i, n := range []int{1000, 2*h.Large + 1} {
		uid := UIDs(t, byte(40+i), 1)[0]
		checked := false
		r := &failingReader{n: n, err: io.EOF, hook: func() {
			checked = true
			_, _, err := s.Open(ctx, uid)
			assert.ErrorIs(t, err, blob.ErrNotFound, "no partial blob is visible")
			assert.NotContains(t, ListAll(t, s), uid, "no partial blob is listed")
		}}
		size, _, err := s.Put(ctx, uid, r, 1<<40)
		require.NoError(t, err)
		assert.True(t, checked)
		assert.EqualValues(t, n+len("more bytes"), size)
		assert.Contains(t, ListAll(t, s), uid)
	}
}

// testGated checks [blob.GatedPutter], when the store has it: while ready runs the blob is
// neither opened nor listed, ready is called once before a success, a failing ready makes
// PutGated return its error and keep nothing, and so does a ctx that ends while ready runs
// (with ctx's error); for empty, small and large bodies of both kinds.
func testGated(t *testing.T, h Harness) {
	s, residue := open(t, h)
	gp, ok := s.(blob.GatedPutter)
	if !ok {
		t.Skip("the store has no blob.GatedPutter")
	}
	ctx := context.Background()
	refused := errors.New("the record did not commit")
	kept := 0
	for k, body := range bodies {
		for i, n := range []int{0, 1000, 2*h.Large + 1} {
			us := UIDs(t, byte(60+10*k+i), 2)
			data := Bytes(byte(k), n)
			var calls atomic.Int32
			size, head, err := gp.PutGated(ctx, us[0], body.of(data), 1<<40, func() error {
				calls.Add(1) // maybe on another goroutine: assert, not require
				_, _, err := s.Open(ctx, us[0])
				assert.ErrorIs(t, err, blob.ErrNotFound, "invisible until ready returns (%d bytes, %s)", n, body.name)
				assert.NoError(t, s.List(ctx, func(uid string) error {
					assert.NotEqual(t, us[0], uid, "unlisted until ready returns")
					return nil
				}))
				return nil
			})
			require.NoError(t, err, "%d bytes, %s", n, body.name)
			kept++
			assert.EqualValues(t, 1, calls.Load(), "ready is called once")
			assert.EqualValues(t, n, size)
			assert.Equal(t, data[:min(n, 512)], head)
			assert.Equal(t, data, Read(t, s, us[0]))

			_, _, err = gp.PutGated(ctx, us[1], body.of(data), 1<<40, func() error { return refused })
			require.ErrorIs(t, err, refused, "%d bytes, %s", n, body.name)
			_, _, err = s.Open(ctx, us[1])
			assert.ErrorIs(t, err, blob.ErrNotFound)
			assert.Len(t, residue(), kept, "a refused PutGated keeps nothing (%d bytes, %s)", n, body.name)

			// ctx ends while ready runs: the blob is not done, so ctx's error and nothing kept.
			cctx, cancel := context.WithCancel(ctx)
			_, _, err = gp.PutGated(cctx, us[1], body.of(data), 1<<40, func() error { cancel(); return nil })
			require.ErrorIs(t, err, context.Canceled, "%d bytes, %s", n, body.name)
			_, _, err = s.Open(ctx, us[1])
			assert.ErrorIs(t, err, blob.ErrNotFound)
			assert.Len(t, residue(), kept, "a PutGated whose ctx ended keeps nothing (%d bytes, %s)", n, body.name)
		}
	}
}

func testDuplicate(t *testing.T, h Harness) {
	s, residue := open(t, h)
	ctx := context.Background()
	uid := UIDs(t, 5, 1)[0]
	_, _, err := s.Put(ctx, uid, strings.NewReader("original"), 100)
	require.NoError(t, err)
	_, _, err = s.Put(ctx, uid, strings.NewReader("replacement"), 100)
	require.ErrorIs(t, err, fs.ErrExist)
	assert.NotContains(t, err.Error(), uid, "errors never carry a UID")
	_, _, err = s.Put(ctx, uid, bytes.NewReader(Bytes(5, 2*h.Large+1)), 1<<40)
	require.ErrorIs(t, err, fs.ErrExist, "a large replacement too")
	assert.Equal(t, "original", string(Read(t, s, uid)))
	assert.Len(t, residue(), 1)
}

func testMissingAndDelete(t *testing.T, h Harness) {
	s, residue := open(t, h)
	ctx := context.Background()
	uid := UIDs(t, 6, 1)[0]
	_, _, err := s.Open(ctx, uid)
	require.ErrorIs(t, err, blob.ErrNotFound)
	require.NoError(t, s.Delete(ctx, uid), "deleting a missing blob is not an error")

	_, _, err = s.Put(ctx, uid, strings.NewReader("x"), 10)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, uid))
	require.NoError(t, s.Delete(ctx, uid), "Delete is idempotent")
	_, _, err = s.Open(ctx, uid)
	assert.ErrorIs(t, err, blob.ErrNotFound)
	assert.Empty(t, residue())

	_, _, err = s.Put(ctx, uid, strings.NewReader("again"), 10)
	require.NoError(t, err, "a deleted UID may be stored again")
	assert.Equal(t, "again", string(Read(t, s, uid)))
}

func testInvalidUIDs(t *testing.T, h Harness) {
	valid := UIDs(t, 7, 1)[0]
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
		"query":        valid[:31] + "?",
	}
	s, residue := open(t, h)
	ctx := context.Background()
	for name, uid := range cases {
		t.Run(name, func(t *testing.T) {
			assert.False(t, blob.ValidUID(uid))
			_, _, err := s.Put(ctx, uid, strings.NewReader("x"), 10)
			assert.ErrorIs(t, err, blob.ErrInvalidUID)
			_, _, err = s.Open(ctx, uid)
			assert.ErrorIs(t, err, blob.ErrInvalidUID)
			assert.ErrorIs(t, s.Delete(ctx, uid), blob.ErrInvalidUID)
			if u, ok := s.(blob.Uploads); ok {
				assert.ErrorIs(t, u.AbortUploads(ctx, uid), blob.ErrInvalidUID)
			}
		})
	}
	assert.Empty(t, residue())
	assert.True(t, blob.ValidUID(valid))
}

func testList(t *testing.T, h Harness) {
	s, _ := open(t, h)
	ctx := context.Background()
	us := UIDs(t, 10, 50)
	for i, uid := range us {
		_, _, err := s.Put(ctx, uid, bytes.NewReader(Bytes(byte(i), i)), 100)
		require.NoError(t, err)
	}
	want := slices.Clone(us)
	slices.Sort(want)
	assert.Equal(t, want, ListAll(t, s))

	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, func(string) error { calls++; return stop })
	assert.Same(t, stop, err, "fn's error comes back unchanged")
	assert.Equal(t, 1, calls)

	// fn may delete what it is given.
	i := 0
	require.NoError(t, s.List(ctx, func(uid string) error {
		i++
		if i%2 == 0 {
			want = slices.DeleteFunc(want, func(u string) bool { return u == uid })
			return s.Delete(ctx, uid)
		}
		return nil
	}))
	assert.Equal(t, want, ListAll(t, s), "deleted blobs are no longer listed")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, s.List(cctx, func(string) error { return nil }), context.Canceled)
}

func testConcurrent(t *testing.T, h Harness) {
	s, residue := open(t, h)
	ctx := context.Background()
	const workers, rounds = 10, 6
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r, uid := range UIDs(t, byte(100+w), rounds) {
				data := Bytes(byte(w*rounds+r), 1000+w*r)
				size, _, err := s.Put(ctx, uid, bytes.NewReader(data), 1<<20)
				if !assert.NoError(t, err) || !assert.EqualValues(t, len(data), size) {
					return
				}
				f, _, err := s.Open(ctx, uid)
				if !assert.NoError(t, err) {
					return
				}
				got, err := io.ReadAll(f)
				assert.NoError(t, err)
				assert.NoError(t, f.Close())
				assert.Equal(t, data, got)
				if r%2 == 0 {
					assert.NoError(t, s.Delete(ctx, uid))
				}
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			assert.NoError(t, s.List(ctx, func(string) error { return nil }))
		}
	})
	wg.Wait()
	assert.Len(t, ListAll(t, s), workers*rounds/2)
	assert.Len(t, residue(), workers*rounds/2, "nothing but the blobs")
}

func testClosed(t *testing.T, h Harness) {
	s, _ := h.New(t)
	require.NoError(t, s.Close())
	uid := UIDs(t, 13, 1)[0]
	_, _, err := s.Put(context.Background(), uid, strings.NewReader("x"), 10)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), uid, "errors never carry a UID")
	_, _, err = s.Open(context.Background(), uid)
	assert.Error(t, err)
	assert.Error(t, s.List(context.Background(), func(string) error { return nil }))
}

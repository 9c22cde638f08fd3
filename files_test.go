package authcube_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/storetest"
)

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

// blobFiles lists the files under Dir/blobs, temporary ones included.
func blobFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	require.NoError(t, err)
	return files
}

func readAll(t *testing.T, r io.ReadSeekCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

func TestUploadAndRead(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	u, s := env.SignedIn(t, "ann")
	_, other := env.SignedIn(t, "bob")
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)

	body := append(append([]byte{}, pngHeader...), bytes.Repeat([]byte("x"), 5000)...)
	f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "me.png"}, bytes.NewReader(body))
	require.NoError(t, err)
	assert.True(t, f.Complete)
	assert.Equal(t, int64(len(body)), f.Size)
	assert.Equal(t, "image/png", f.ContentType, "sniffed")
	assert.Equal(t, u.ID, f.OwnerID)
	assert.Len(t, f.UID, 32)
	assert.Equal(t, env.Clock.Now(), f.CreatedAt)

	for name, tok := range map[string]string{"owner": s.Token, "another user": other.Token, "application session": app.Token} {
		r, got, err := env.Engine.OpenFile(ctx, tok, f.UID)
		require.NoError(t, err, name)
		assert.Equal(t, body, readAll(t, r), name)
		assert.Equal(t, f, got)
		info, err := env.Engine.File(ctx, tok, f.UID)
		require.NoError(t, err)
		assert.Equal(t, f, info)
	}
	r, _, err := env.Engine.OpenFile(ctx, s.Token, f.UID)
	require.NoError(t, err)
	_, err = r.Seek(int64(len(pngHeader)), io.SeekStart)
	require.NoError(t, err)
	rest := readAll(t, r)
	assert.Equal(t, body[len(pngHeader):], rest, "seekable")

	txt, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "notes", ContentType: "text/plain; charset=utf-8", Public: true}, strings.NewReader("hello"))
	require.NoError(t, err)
	assert.Equal(t, "text/plain; charset=utf-8", txt.ContentType, "given content type kept")
	assert.True(t, txt.Public)

	env.Restart(t)
	r, _, err = env.Engine.OpenFile(ctx, other.Token, txt.UID)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(readAll(t, r)), "durable")
}

func TestUploadOverTheCapLeavesNothing(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) { c.MaxFileSize = 1024 }))
	_, s := env.SignedIn(t, "ann")
	_, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "big"}, bytes.NewReader(make([]byte, 1025)))
	requireCode(t, err, authcube.ErrInvalid, "file")
	page, err := env.Engine.Files(ctx, s.Token, authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Files)
	assert.Empty(t, blobFiles(t, env.Dir))

	f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "exact"}, bytes.NewReader(make([]byte, 1024)))
	require.NoError(t, err, "exactly the cap")
	assert.Equal(t, int64(1024), f.Size)
}

func TestTwoPhaseUpload(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	_, other := env.SignedIn(t, "bob")

	f, err := env.Engine.CreateFile(ctx, s.Token, authcube.NewFile{Name: "later.txt"})
	require.NoError(t, err)
	assert.False(t, f.Complete)
	got, err := env.Engine.File(ctx, s.Token, f.UID)
	require.NoError(t, err, "the owner sees its pending file")
	assert.False(t, got.Complete)
	_, err = env.Engine.File(ctx, other.Token, f.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
	_, _, err = env.Engine.OpenFile(ctx, s.Token, f.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
	_, err = env.Engine.WriteFile(ctx, other.Token, f.UID, strings.NewReader("x"))
	requireCode(t, err, authcube.ErrForbidden, "")

	done, err := env.Engine.WriteFile(ctx, s.Token, f.UID, strings.NewReader("the bytes"))
	require.NoError(t, err)
	assert.True(t, done.Complete)
	assert.Equal(t, "text/plain; charset=utf-8", done.ContentType)
	_, err = env.Engine.WriteFile(ctx, s.Token, f.UID, strings.NewReader("again"))
	requireCode(t, err, authcube.ErrConflict, "file")

	// A file created and never written is collected after a day.
	stale, err := env.Engine.CreateFile(ctx, s.Token, authcube.NewFile{Name: "never"})
	require.NoError(t, err)
	env.Clock.Advance(25 * time.Hour)
	_, s = env.SignedIn(t, "ann")
	require.NoError(t, authcube.Sweep(env.Engine))
	_, err = env.Engine.File(ctx, s.Token, stale.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
	_, err = env.Engine.File(ctx, s.Token, done.UID)
	require.NoError(t, err, "complete files stay")
}

// S27: a UID is the engine's own 128 random bits: a path or anything else is refused.
func TestFileUIDsAreNotPaths(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	for _, uid := range []string{"", "../x", "/etc/passwd", "..%2fx", "a\x00b", strings.Repeat("A", 32), strings.Repeat("a", 31), "ab/" + strings.Repeat("c", 29)} {
		_, _, err := env.Engine.OpenFile(ctx, s.Token, uid)
		requireCode(t, err, authcube.ErrInvalid, "uid")
		_, err = env.Engine.File(ctx, s.Token, uid)
		requireCode(t, err, authcube.ErrInvalid, "uid")
		requireCode(t, env.Engine.DeleteFile(ctx, s.Token, uid), authcube.ErrInvalid, "uid")
		_, err = env.Engine.WriteFile(ctx, s.Token, uid, strings.NewReader("x"))
		requireCode(t, err, authcube.ErrInvalid, "uid")
	}
	_, _, err := env.Engine.OpenFile(ctx, s.Token, strings.Repeat("a", 32))
	requireCode(t, err, authcube.ErrNotFound, "")
}

func TestOthersCannotTouchYourFiles(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, ann := env.SignedIn(t, "ann")
	_, bob := env.SignedIn(t, "bob")
	f, err := env.Engine.UploadFile(ctx, ann.Token, authcube.NewFile{Name: "mine"}, strings.NewReader("ann's"))
	require.NoError(t, err)

	requireCode(t, env.Engine.DeleteFile(ctx, bob.Token, f.UID), authcube.ErrForbidden, "")
	_, err = env.Engine.RenameFile(ctx, bob.Token, f.UID, "stolen")
	requireCode(t, err, authcube.ErrForbidden, "")
	_, err = env.Engine.UpdateUser(ctx, bob.Token, authcube.UserUpdate{AvatarUID: new(f.UID)})
	requireCode(t, err, authcube.ErrInvalid, "avatar")
	_, err = env.Engine.FileByID(ctx, bob.Token, f.ID)
	requireCode(t, err, authcube.ErrNotFound, "") // ids are guessable: owner only

	got, err := env.Engine.FileByID(ctx, ann.Token, f.ID)
	require.NoError(t, err)
	assert.Equal(t, "mine", got.Name, "untouched")
	renamed, err := env.Engine.RenameFile(ctx, ann.Token, f.UID, "  new name.txt ")
	require.NoError(t, err)
	assert.Equal(t, "new name.txt", renamed.Name)
	_, err = env.Engine.RenameFile(ctx, ann.Token, f.UID, "bad\x00name")
	requireCode(t, err, authcube.ErrInvalid, "name")
	require.NoError(t, env.Engine.DeleteFile(ctx, ann.Token, f.UID))
	_, err = env.Engine.File(ctx, ann.Token, f.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
	assert.Empty(t, blobFiles(t, env.Dir), "the bytes go too")
}

func TestApplicationSessionsCannotWriteFiles(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "x"}, strings.NewReader("x"))
	require.NoError(t, err)
	app, err := env.Engine.CreateSession(ctx)
	require.NoError(t, err)
	_, err = env.Engine.UploadFile(ctx, app.Token, authcube.NewFile{Name: "x"}, strings.NewReader("x"))
	requireCode(t, err, authcube.ErrForbidden, "")
	_, err = env.Engine.CreateFile(ctx, app.Token, authcube.NewFile{Name: "x"})
	requireCode(t, err, authcube.ErrForbidden, "")
	_, err = env.Engine.RenameFile(ctx, app.Token, f.UID, "y")
	requireCode(t, err, authcube.ErrForbidden, "")
	requireCode(t, env.Engine.DeleteFile(ctx, app.Token, f.UID), authcube.ErrForbidden, "")
	_, err = env.Engine.Files(ctx, app.Token, authcube.Page{})
	requireCode(t, err, authcube.ErrForbidden, "")
}

func TestFilesPaging(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	_, bob := env.SignedIn(t, "bob")
	_, err := env.Engine.UploadFile(ctx, bob.Token, authcube.NewFile{Name: "bob's"}, strings.NewReader("b"))
	require.NoError(t, err)
	var want []int64
	for i := range 7 {
		f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: string(rune('a' + i))}, strings.NewReader("x"))
		require.NoError(t, err)
		want = append(want, f.ID)
	}
	var got []int64
	p := authcube.Page{PerPage: 3}
	for {
		page, err := env.Engine.Files(ctx, s.Token, p)
		require.NoError(t, err)
		assert.Equal(t, 7, page.Total)
		for _, f := range page.Files {
			got = append(got, f.ID)
		}
		if page.Next == "" {
			break
		}
		p.After = page.Next
	}
	assert.Equal(t, want, got, "own files only, by id")
	page, err := env.Engine.Files(ctx, s.Token, authcube.Page{PerPage: 3, Page: 3})
	require.NoError(t, err)
	require.Len(t, page.Files, 1)
	assert.Equal(t, want[6], page.Files[0].ID)
}

func TestAvatars(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	_, bob := env.SignedIn(t, "bob")
	upload := func() authcube.File {
		f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "avatar.png"}, bytes.NewReader(pngHeader))
		require.NoError(t, err)
		return f
	}
	first, second := upload(), upload()
	pending, err := env.Engine.CreateFile(ctx, s.Token, authcube.NewFile{Name: "pending"})
	require.NoError(t, err)

	_, err = env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{AvatarUID: new(pending.UID), FullName: new("changed")})
	requireCode(t, err, authcube.ErrInvalid, "avatar")
	u, err := env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{AvatarUID: new(first.UID)})
	require.NoError(t, err)
	assert.Equal(t, first.UID, u.AvatarUID)
	assert.Empty(t, u.FullName, "the refused update changed nothing")

	// Others read the avatar with its UID.
	seen, err := env.Engine.User(ctx, bob.Token, u.ID)
	require.NoError(t, err)
	r, _, err := env.Engine.OpenFile(ctx, bob.Token, seen.AvatarUID)
	require.NoError(t, err)
	assert.Equal(t, pngHeader, readAll(t, r))

	// Replacing the avatar deletes the old file; clearing deletes the current one.
	_, err = env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{AvatarUID: new(second.UID)})
	require.NoError(t, err)
	_, err = env.Engine.File(ctx, s.Token, first.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
	_, err = env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{AvatarUID: new("")})
	require.NoError(t, err)
	_, err = env.Engine.File(ctx, s.Token, second.UID)
	requireCode(t, err, authcube.ErrNotFound, "")

	// Their bytes are collected in the background.
	require.NoError(t, authcube.Sweep(env.Engine))
	assert.Len(t, blobFiles(t, env.Dir), 0)
}

func TestDeletingAUserDeletesItsFiles(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	_, bob := env.SignedIn(t, "bob")
	f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "x"}, strings.NewReader("ann's"))
	require.NoError(t, err)
	_, err = env.Engine.UpdateUser(ctx, s.Token, authcube.UserUpdate{AvatarUID: new(f.UID)})
	require.NoError(t, err)
	kept, err := env.Engine.UploadFile(ctx, bob.Token, authcube.NewFile{Name: "y"}, strings.NewReader("bob's"))
	require.NoError(t, err)

	require.NoError(t, env.Engine.DeleteUser(ctx, s.Token))
	_, err = env.Engine.File(ctx, bob.Token, f.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
	require.NoError(t, authcube.Sweep(env.Engine))
	assert.Len(t, blobFiles(t, env.Dir), 1, "only bob's bytes remain")
	_, err = env.Engine.File(ctx, bob.Token, kept.UID)
	require.NoError(t, err)
}

// Bytes that no file row points to (a crash between the two) are collected.
func TestUnreferencedBytesAreCollected(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	stray := filepath.Join(env.Dir, "blobs", "ab", "ab"+strings.Repeat("0", 30))
	require.NoError(t, os.MkdirAll(filepath.Dir(stray), 0o700))
	require.NoError(t, os.WriteFile(stray, []byte("orphan"), 0o600))
	require.NoError(t, authcube.Sweep(env.Engine))
	assert.NoFileExists(t, stray)
}

// revokingReader ends a session while its bytes are being read.
type revokingReader struct {
	r    io.Reader
	stop func()
}

func (rr *revokingReader) Read(p []byte) (int, error) {
	if rr.stop != nil {
		rr.stop()
		rr.stop = nil
	}
	return rr.r.Read(p)
}

// S16 and rule 6: a file write validated before a revocation does not commit after it.
func TestFileWriteAfterRevocationDoesNotComplete(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	_, other := env.SignedIn(t, "ann")
	f, err := env.Engine.CreateFile(ctx, s.Token, authcube.NewFile{Name: "slow"})
	require.NoError(t, err)
	body := &revokingReader{r: strings.NewReader("late bytes"), stop: func() {
		require.NoError(t, env.Engine.DestroySession(ctx, s.Token))
	}}
	_, err = env.Engine.WriteFile(ctx, s.Token, f.UID, body)
	require.Error(t, err)
	got, err := env.Engine.File(ctx, other.Token, f.UID)
	require.NoError(t, err)
	assert.False(t, got.Complete, "the write did not complete after the session ended")
	_, _, err = env.Engine.OpenFile(ctx, other.Token, f.UID)
	requireCode(t, err, authcube.ErrNotFound, "")
}

// Two writes of one pending file: one completes, the other is a conflict, and the file keeps
// its bytes.
func TestConcurrentWritesOfOneFile(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, s := env.SignedIn(t, "ann")
	f, err := env.Engine.CreateFile(ctx, s.Token, authcube.NewFile{Name: "twice"})
	require.NoError(t, err)
	_, err = env.Engine.WriteFile(ctx, s.Token, f.UID, strings.NewReader("first"))
	require.NoError(t, err)
	_, err = env.Engine.WriteFile(ctx, s.Token, f.UID, strings.NewReader("second"))
	requireCode(t, err, authcube.ErrConflict, "file")
	r, _, err := env.Engine.OpenFile(ctx, s.Token, f.UID)
	require.NoError(t, err)
	assert.Equal(t, "first", string(readAll(t, r)))
}

// gatedDir is the directory blob store with blob.GatedPutter. It calls ready before it writes
// a byte, and atReady with ready's answer, so a test can look at the shared metadata at the
// moment the blob may become visible.
type gatedDir struct {
	*blob.Dir
	atReady func(uid string, err error)
}

func (g gatedDir) PutGated(ctx context.Context, uid string, r io.Reader, max int64, ready func() error) (int64, []byte, error) {
	err := ready()
	g.atReady(uid, err)
	if err != nil {
		return 0, nil, err
	}
	return g.Dir.Put(ctx, uid, r, max)
}

// With a blob store that has blob.GatedPutter (blob/s3), UploadFile commits the pending record
// while the bytes travel (lazily: SQLite has store.LazyFiles), and ready returns only once the
// record is committed: the collector of any instance deletes blobs without a record, so it
// must never see the bytes first. When the record does not commit, nothing is kept.
func TestUploadCommitsTheRecordBeforeTheBytesCanBeSeen(t *testing.T) {
	t.Parallel()
	gated := func(env **authtest.Env, readied *[]string) authtest.Option {
		return authtest.WithConfig(func(c *authcube.Config) {
			d, err := blob.OpenDir(filepath.Join(c.Dir, "blobs"))
			require.NoError(t, err)
			c.Blobs = gatedDir{Dir: d, atReady: func(uid string, err error) {
				if err != nil {
					return
				}
				*readied = append(*readied, uid)
				exists, err := authcube.StoreOf((*env).Engine).FileExists(ctx, uid)
				assert.NoError(t, err)
				assert.True(t, exists, "the record is committed when ready returns")
			}}
		})
	}

	var env *authtest.Env
	var readied []string
	env = authtest.New(t, gated(&env, &readied))
	_, s := env.SignedIn(t, "ann")
	f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "a.bin"}, bytes.NewReader(pngHeader))
	require.NoError(t, err)
	assert.Equal(t, []string{f.UID}, readied)
	assert.True(t, f.Complete)
	assert.NotZero(t, f.ID)
	assert.Equal(t, "image/png", f.ContentType)
	r, _, err := env.Engine.OpenFile(ctx, s.Token, f.UID)
	require.NoError(t, err)
	assert.Equal(t, pngHeader, readAll(t, r))

	// The record does not commit: no bytes, no record.
	var failing *authtest.Env
	readied = nil
	failing = authtest.New(t, gated(&failing, &readied))
	authcube.WrapStore(failing.Engine, func(s store.Store) store.Store {
		return &storetest.Hooked{Inner: s, Before: func(m string) error {
			if m == "CreateFile" {
				return errors.New("disk full")
			}
			return nil
		}}
	})
	_, s = failing.SignedIn(t, "ann")
	_, err = failing.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "b.bin"}, strings.NewReader("never stored"))
	require.Error(t, err)
	assert.Empty(t, readied)
	assert.Empty(t, blobFiles(t, failing.Dir))
	page, err := failing.Engine.Files(ctx, s.Token, authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Files)
}

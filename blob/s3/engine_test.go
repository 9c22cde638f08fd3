package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob/blobtest"
	"github.com/authcube/authcube/store/postgres"
)

// fakeClock is a clock shared by the engines of a test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const engineMaxFile = 3 * testPartSize

// twoEngines opens two engines sharing one PostgreSQL schema (AUTHCUBE_TEST_POSTGRES) and one
// bucket on a loopback gofakes3, as two app instances would.
func twoEngines(t *testing.T) (a, b *authcube.Engine, ep endpoint, clock *fakeClock) {
	url := os.Getenv("AUTHCUBE_TEST_POSTGRES")
	if url == "" {
		t.Skip("AUTHCUBE_TEST_POSTGRES is unset: set it to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test) to run the several-instance test")
	}
	schema := fmt.Sprintf("authcube_s3_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	f := newFake(t)
	cfg := f.cfg("shared")
	cfg.Prefix = "files"
	ep = endpoint{cfg: cfg, raw: rawClient(t, cfg)}
	clock = &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	engine := func() *authcube.Engine {
		st, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 4, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		e, err := authcube.Open(t.Context(), authcube.Config{
			Store: st, Blobs: open(t, cfg), Mailer: &authtest.Mailbox{}, MaxFileSize: engineMaxFile, Now: clock.Now,
			Hashing: authcube.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
			Logger:  slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		return e
	}
	return engine(), engine(), ep, clock
}

// readerHook is a body that calls hook once, after at bytes.
func readerHook(data []byte, at int, hook func()) io.Reader {
	return &hookReader{r: bytes.NewReader(data), at: at, hook: hook}
}

// TestSeveralEnginesShareABucket: two engines on one PostgreSQL store and one bucket serve one
// set of files: an upload on A reads on B; over-cap and cancelled uploads leave nothing in the
// bucket nor in the store; a deletion on B removes the object; the collector on either engine
// removes orphaned objects and abandoned uploads, but never an upload another engine is
// writing.
func TestSeveralEnginesShareABucket(t *testing.T) {
	a, b, ep, clock := twoEngines(t)
	ctx := t.Context()
	app, err := a.CreateSession(ctx)
	require.NoError(t, err)
	_, err = a.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	sa, err := a.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	sb, err := b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	key := func(uid string) string { return "object files/" + uid }

	// Upload on A (a multipart upload), read on B, seeking.
	data := blobtest.Bytes(1, 2*testPartSize+777)
	f, err := a.UploadFile(ctx, sa.Token, authcube.NewFile{Name: "big.bin"}, bytes.NewReader(data))
	require.NoError(t, err)
	assert.EqualValues(t, len(data), f.Size)
	rc, got, err := b.OpenFile(ctx, sb.Token, f.UID)
	require.NoError(t, err)
	assert.Equal(t, f.UID, got.UID)
	_, err = rc.Seek(int64(len(data)-100), io.SeekStart)
	require.NoError(t, err)
	tail, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, data[len(data)-100:], tail)
	require.NoError(t, rc.Close())
	assert.Equal(t, []string{key(f.UID)}, residue(t, ep.raw, ep.cfg))

	// Over the cap, and cancelled midway: nothing in the bucket, no file row.
	_, err = a.UploadFile(ctx, sa.Token, authcube.NewFile{Name: "huge"}, bytes.NewReader(make([]byte, engineMaxFile+1)))
	require.ErrorIs(t, err, authcube.ErrInvalid)
	cctx, cancel := context.WithCancel(ctx)
	_, err = b.UploadFile(cctx, sb.Token, authcube.NewFile{Name: "cut"}, readerHook(make([]byte, 2*testPartSize), testPartSize+10, cancel))
	require.Error(t, err)
	assert.Equal(t, []string{key(f.UID)}, residue(t, ep.raw, ep.cfg), "no object and no unfinished upload left")
	page, err := b.Files(ctx, sb.Token, authcube.Page{})
	require.NoError(t, err)
	require.Len(t, page.Files, 1, "no pending file left")

	// Deletion on B removes the object A wrote.
	require.NoError(t, b.DeleteFile(ctx, sb.Token, f.UID))
	assert.Empty(t, residue(t, ep.raw, ep.cfg))
	_, _, err = a.OpenFile(ctx, sa.Token, f.UID)
	require.ErrorIs(t, err, authcube.ErrNotFound)

	// Orphans: an object no file names, and the unfinished upload of a crashed process for a
	// file that is gone, are collected.
	orphans := blobtest.UIDs(t, 2, 2)
	_, err = ep.raw.PutObject(ctx, ep.cfg.Bucket, "files/"+orphans[0], bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
	require.NoError(t, err)
	crashedUpload(t, ep, orphans[1])

	// A pending file with an abandoned upload (its writer crashed) is kept while pending...
	pending, err := a.CreateFile(ctx, sa.Token, authcube.NewFile{Name: "crashed"})
	require.NoError(t, err)
	crashedUpload(t, ep, pending.UID)

	// ...and so is an upload in progress on A while B collects: B's sweep runs from inside A's
	// upload, between two parts.
	var sweepErr error
	body := blobtest.Bytes(3, 2*testPartSize+5)
	live, err := a.UploadFile(ctx, sa.Token, authcube.NewFile{Name: "live"}, readerHook(body, testPartSize+10, func() {
		sweepErr = b.Sweep(ctx)
	}))
	require.NoError(t, sweepErr)
	require.NoError(t, err, "B's collector did not abort A's upload in progress")
	assert.EqualValues(t, len(body), live.Size)
	assert.ElementsMatch(t, []string{key(live.UID), "upload files/" + pending.UID}, residue(t, ep.raw, ep.cfg),
		"the orphans are gone, the pending file's upload is kept")

	// A day later the pending file is collected, its upload with it.
	clock.Add(25 * time.Hour)
	require.NoError(t, a.Sweep(ctx))
	assert.Equal(t, []string{key(live.UID)}, residue(t, ep.raw, ep.cfg))

	sb, err = b.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "correct horse battery"})
	require.NoError(t, err)
	rc, _, err = b.OpenFile(ctx, sb.Token, live.UID)
	require.NoError(t, err)
	all, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.True(t, bytes.Equal(body, all), "the upload B's collector saw in progress is whole")
}

// crashedUpload starts a multipart upload of uid with one part and leaves it, as a process
// that died mid-upload does.
func crashedUpload(t *testing.T, ep endpoint, uid string) {
	t.Helper()
	core := minio.Core{Client: ep.raw}
	id, err := core.NewMultipartUpload(t.Context(), ep.cfg.Bucket, "files/"+uid, minio.PutObjectOptions{})
	require.NoError(t, err)
	_, err = core.PutObjectPart(t.Context(), ep.cfg.Bucket, "files/"+uid, id, 1, bytes.NewReader(make([]byte, 10)), 10,
		minio.PutObjectPartOptions{DisableContentSha256: true})
	require.NoError(t, err)
}

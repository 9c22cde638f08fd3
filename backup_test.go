package authcube_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
)

// hookedBlobs is a blob store that runs beforeLink once as Link starts, and reports every
// Delete as it starts.
type hookedBlobs struct {
	blob.Store
	beforeLink func()
	deletes    chan string
}

func (h *hookedBlobs) Link(ctx context.Context, dir string) error {
	if f := h.beforeLink; f != nil {
		h.beforeLink = nil
		f()
	}
	return h.Store.(blob.Linker).Link(ctx, dir)
}

func (h *hookedBlobs) Delete(ctx context.Context, uid string) error {
	select {
	case h.deletes <- uid:
	default:
	}
	return h.Store.Delete(ctx, uid)
}

// A backup of a live engine opens as an engine, passes integrity_check, holds every user
// and file acknowledged before it started with their bytes, and the session activity buffered
// in memory. The interleaving that matters is forced: a file is deleted after the database was
// copied and before the bytes are linked; its bytes must still make it into the copy.
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	blobs, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	hooked := &hookedBlobs{Store: blobs, deletes: make(chan string, 1)}
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) { c.Blobs = hooked }))
	_, s := env.SignedIn(t, "ann")
	var before []authcube.File
	for i := range 5 {
		f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: fmt.Sprint("f", i)}, strings.NewReader(fmt.Sprint("bytes ", i)))
		require.NoError(t, err)
		before = append(before, f)
	}
	// Activity the engine holds in memory: the session's last request is now, 90 minutes on.
	env.Clock.Advance(90 * time.Minute)
	_, err = env.Engine.Session(ctx, s.Token)
	require.NoError(t, err)
	lastRequest := env.Clock.Now()

	deleted := make(chan error, 1)
	hooked.beforeLink = func() {
		// The database is copied; now the owner deletes a file the copy names.
		go func() { deleted <- env.Engine.DeleteFile(ctx, s.Token, before[0].UID) }()
		// File deletion is paused during the backup, so the bytes cannot go now. The timer
		// bounds the wait for what must not happen; it paces nothing.
		select {
		case <-hooked.deletes:
			t.Error("the bytes of a file were deleted while the backup linked them")
			deleted <- <-deleted // let the deletion finish before the link, as it would
		case <-time.After(2 * time.Second):
		}
	}
	dst := filepath.Join(t.TempDir(), "backup")
	require.NoError(t, env.Engine.Backup(ctx, dst))
	require.NoError(t, <-deleted, "the deletion completes after the backup")

	requireCode(t, env.Engine.Backup(ctx, dst), authcube.ErrInvalid, "path") // exists

	db, err := sql.Open("sqlite", filepath.Join(dst, "authcube.db")+"?_pragma=query_only(1)")
	require.NoError(t, err)
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	require.NoError(t, db.Close())
	assert.Equal(t, "ok", check)

	// The copy's clock: 1 ms before the session's idle limit, counted from the request that
	// was only in memory when the backup began.
	now := lastRequest.Add(2*time.Hour - time.Millisecond)
	copyEng, err := authcube.Open(ctx, authcube.Config{Dir: dst, Hashing: authtest.CheapHashing, Mailer: &authtest.Mailbox{},
		Now: func() time.Time { return now }})
	require.NoError(t, err)
	defer copyEng.Close()
	_, err = copyEng.Session(ctx, s.Token)
	require.NoError(t, err, "the copy has the session's last activity")
	s2, err := copyEng.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err, "the copy opens as an engine, with its users")
	for i, f := range before {
		r, _, err := copyEng.OpenFile(ctx, s2.Token, f.UID)
		require.NoError(t, err, "file %d is in the copy with its bytes", i)
		b, _ := io.ReadAll(r)
		r.Close()
		assert.Equal(t, fmt.Sprint("bytes ", i), string(b))
	}
}

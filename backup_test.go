package authcube_test

import (
	"database/sql"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
)

// A backup taken under write load opens as an engine, passes integrity_check, and holds
// every user and file that was acknowledged before it started.
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithConfig(func(c *authcube.Config) { c.Rand = nil }))
	_, s := env.SignedIn(t, "ann")
	var before []authcube.File
	for i := range 5 {
		f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: fmt.Sprint("f", i)}, strings.NewReader(fmt.Sprint("bytes ", i)))
		require.NoError(t, err)
		before = append(before, f)
	}
	// Load: sign-ups, uploads and deletions while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var n atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			app, err := env.Engine.CreateSession(ctx)
			if !assert.NoError(t, err) {
				return
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := env.Engine.SignUp(ctx, app.Token, authcube.NewUser{Login: fmt.Sprintf("load%d-%d", w, i), Password: authtest.Password})
				assert.NoError(t, err)
				f, err := env.Engine.UploadFile(ctx, s.Token, authcube.NewFile{Name: "tmp"}, strings.NewReader("churn"))
				assert.NoError(t, err)
				assert.NoError(t, env.Engine.DeleteFile(ctx, s.Token, f.UID))
				n.Add(1)
			}
		})
	}
	for n.Load() < 5 { // the load is running
		_, err := env.Engine.Session(ctx, s.Token)
		require.NoError(t, err)
	}
	dst := filepath.Join(t.TempDir(), "backup")
	require.NoError(t, env.Engine.Backup(ctx, dst))
	close(stop)
	wg.Wait()

	requireCode(t, env.Engine.Backup(ctx, dst), authcube.ErrInvalid, "path") // exists

	db, err := sql.Open("sqlite", filepath.Join(dst, "authcube.db")+"?_pragma=query_only(1)")
	require.NoError(t, err)
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	require.NoError(t, db.Close())
	assert.Equal(t, "ok", check)

	copyEng, err := authcube.Open(ctx, authcube.Config{Dir: dst, Hashing: authtest.CheapHashing, Mailer: &authtest.Mailbox{}})
	require.NoError(t, err)
	defer copyEng.Close()
	s2, err := copyEng.CreateUserSession(ctx, authcube.Credentials{Login: "ann", Password: authtest.Password})
	require.NoError(t, err, "the copy opens as an engine, with its users")
	page, err := copyEng.Files(ctx, s2.Token, authcube.Page{PerPage: 100})
	require.NoError(t, err)
	for _, f := range page.Files {
		if !f.Complete {
			continue // caught between CreateFile and WriteFile: no bytes yet, as in the original
		}
		r, _, err := copyEng.OpenFile(ctx, s2.Token, f.UID)
		require.NoError(t, err, "every file the copy names has its bytes")
		b, _ := io.ReadAll(r)
		r.Close()
		assert.NotEmpty(t, b)
	}
	for _, f := range before {
		_, err := copyEng.File(ctx, s2.Token, f.UID)
		assert.NoError(t, err)
	}
}

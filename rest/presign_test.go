package rest_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/rest"
)

// presigningStore is a blob.Dir whose readers can presign, as blob/s3's do.
type presigningStore struct{ *blob.Dir }

func (s presigningStore) Open(ctx context.Context, uid string) (io.ReadSeekCloser, int64, error) {
	rc, n, err := s.Dir.Open(ctx, uid)
	if err != nil {
		return nil, 0, err
	}
	return presigningReader{rc, uid}, n, nil
}

type presigningReader struct {
	io.ReadSeekCloser
	uid string
}

func (r presigningReader) PresignGet(_ context.Context, ttl time.Duration, ct, disp, cache string) (string, error) {
	q := url.Values{"ttl": {ttl.String()}, "ct": {ct}, "disp": {disp}, "cache": {cache}}
	return "https://bucket.example/" + r.uid + "?" + q.Encode(), nil
}

func presignServer(t *testing.T, ttl time.Duration) (*tserver, string, authcube.File) {
	t.Helper()
	dir, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	require.NoError(t, err)
	s := newServer(t, rest.Config{PresignedDownloads: ttl}, authtest.WithConfig(func(c *authcube.Config) {
		c.Blobs = presigningStore{dir}
	}))
	_, sess := s.env.SignedIn(t, "ann")
	f, err := s.env.Engine.UploadFile(t.Context(), sess.Token, authcube.NewFile{Name: "a.txt", ContentType: "text/plain"}, strings.NewReader("hello"))
	require.NoError(t, err)
	return s, sess.Token, f
}

// get sends a GET (or HEAD) without following redirects.
func (s *tserver) noFollow(method, path string) *http.Response {
	s.t.Helper()
	c := *s.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest(method, s.url(path), nil)
	require.NoError(s.t, err)
	res, err := c.Do(req)
	require.NoError(s.t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// With PresignedDownloads, an authorised GET of a file's bytes is a redirect to a presigned GET
// carrying the headers the handler would have sent; an unauthorised one is refused as before,
// HEAD is served here, and without the switch the bytes pass through.
func TestDownloadRedirectsToPresignedGet(t *testing.T) {
	s, tok, f := presignServer(t, 2*time.Minute)
	res := s.noFollow("GET", "/blobs/"+f.UID+"?token="+url.QueryEscape(tok))
	require.Equal(t, http.StatusFound, res.StatusCode)
	loc, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "bucket.example", loc.Host)
	assert.Equal(t, "/"+f.UID, loc.Path)
	assert.Equal(t, "2m0s", loc.Query().Get("ttl"))
	assert.Equal(t, "text/plain", loc.Query().Get("ct"))
	assert.Equal(t, `attachment; filename=a.txt`, loc.Query().Get("disp"))
	assert.Equal(t, "private, no-store", loc.Query().Get("cache"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	res = s.noFollow("GET", "/blobs/"+f.UID)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "no session, no redirect")
	res = s.noFollow("HEAD", "/blobs/"+f.UID+"?token="+url.QueryEscape(tok))
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "5", res.Header.Get("Content-Length"))

	s, tok, f = presignServer(t, 0)
	res = s.noFollow("GET", "/blobs/"+f.UID+"?token="+url.QueryEscape(tok))
	assert.Equal(t, http.StatusOK, res.StatusCode, "off by default")
}

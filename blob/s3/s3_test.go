package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/blob/blobtest"
	"github.com/authcube/authcube/blob/s3"
)

// TestMain shortens the client's back-off between retries, so the tests of an unreachable
// server take milliseconds, not seconds.
func TestMain(m *testing.M) {
	minio.DefaultRetryUnit, minio.DefaultRetryCap = time.Millisecond, 5*time.Millisecond
	os.Exit(m.Run())
}

// testPartSize is the smallest part S3 accepts (but for the last), so the suite reaches the
// multipart path with bodies of a few MiB.
const testPartSize = 5 << 20

const (
	fakeKey    = "AKIAFAKEFAKEFAKE"
	fakeSecret = "fake/secret+key/that-must-never-leak"
)

// fake is a gofakes3 server on loopback HTTP, with a count of the body bytes it sends.
type fake struct {
	srv  *httptest.Server
	sent atomic.Int64
}

func (f *fake) cfg(bucket string) s3.Config {
	return s3.Config{
		Endpoint: f.srv.Listener.Addr().String(), Bucket: bucket, Region: "us-east-1",
		AccessKeyID: fakeKey, SecretAccessKey: fakeSecret, Insecure: true, CreateBucket: true,
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// newFake serves a fresh in-memory gofakes3 on a loopback port for the test.
func newFake(t testing.TB) *fake {
	t.Helper()
	f := &fake{}
	h := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(countingWriter{w, &f.sent}, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// endpoint is an S3 endpoint to test against: the cfg to open it with, and a raw client on it
// for the residue checks.
type endpoint struct {
	cfg s3.Config
	raw *minio.Client
}

// envEndpoint parses AUTHCUBE_TEST_S3, of the form
//
//	http://KEY:SECRET@127.0.0.1:9000/bucket[/prefix]   (https:// for TLS)
//
// and gives each test a prefix of its own inside the bucket (which must exist, or be
// creatable with those keys). Objects under that prefix are removed when the test ends.
func envEndpoint(t testing.TB) (endpoint, bool) {
	v := os.Getenv("AUTHCUBE_TEST_S3")
	if v == "" {
		return endpoint{}, false
	}
	u, err := url.Parse(v)
	require.NoError(t, err, "AUTHCUBE_TEST_S3 must be http(s)://KEY:SECRET@HOST:PORT/BUCKET[/PREFIX]")
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	require.NotEmpty(t, bucket, "AUTHCUBE_TEST_S3 names no bucket")
	secret, _ := u.User.Password()
	var rb [8]byte
	_, _ = rand.NewChaCha8([32]byte{byte(time.Now().UnixNano())}).Read(rb[:])
	cfg := s3.Config{
		Endpoint: u.Host, Bucket: bucket, AccessKeyID: u.User.Username(), SecretAccessKey: secret,
		Insecure: u.Scheme == "http", CreateBucket: true,
		Prefix: strings.TrimSuffix(prefix, "/") + "/authcube-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + fmt.Sprintf("%x", rb[:4]),
	}
	cfg.Prefix = strings.TrimPrefix(cfg.Prefix, "/")
	return endpoint{cfg: cfg, raw: rawClient(t, cfg)}, true
}

func rawClient(t testing.TB, cfg s3.Config) *minio.Client {
	t.Helper()
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""), Secure: !cfg.Insecure, Region: cfg.Region,
	})
	require.NoError(t, err)
	return c
}

// residue lists every object and unfinished upload under the prefix of cfg.
func residue(t testing.TB, raw *minio.Client, cfg s3.Config) []string {
	t.Helper()
	ctx := context.Background()
	prefix := cfg.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	var out []string
	for o := range raw.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		require.NoError(t, o.Err)
		out = append(out, "object "+o.Key)
	}
	res, err := minio.Core{Client: raw}.ListMultipartUploads(ctx, cfg.Bucket, prefix, "", "", "", 1000)
	if minio.ToErrorResponse(err).Code != "NoSuchUpload" { // gofakes3's answer for none
		require.NoError(t, err)
		for _, u := range res.Uploads {
			out = append(out, "upload "+u.Key)
		}
	}
	return out
}

// endpoints returns the loopback gofakes3 endpoint, and the AUTHCUBE_TEST_S3 one when set.
func endpoints(t *testing.T, fn func(t *testing.T, newEndpoint func(t testing.TB) endpoint)) {
	t.Run("gofakes3", func(t *testing.T) {
		fn(t, func(t testing.TB) endpoint {
			f := newFake(t)
			cfg := f.cfg("authcube")
			return endpoint{cfg: cfg, raw: rawClient(t, cfg)}
		})
	})
	if _, ok := envEndpoint(t); ok {
		t.Run("AUTHCUBE_TEST_S3", func(t *testing.T) {
			fn(t, func(t testing.TB) endpoint {
				ep, _ := envEndpoint(t)
				t.Cleanup(func() {
					for _, r := range residue(t, ep.raw, ep.cfg) {
						key := strings.SplitN(r, " ", 2)[1]
						_ = ep.raw.RemoveObject(context.Background(), ep.cfg.Bucket, key, minio.RemoveObjectOptions{})
						_ = ep.raw.RemoveIncompleteUpload(context.Background(), ep.cfg.Bucket, key)
					}
				})
				return ep
			})
		})
	}
}

func open(t testing.TB, cfg s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.New(context.Background(), cfg)
	require.NoError(t, err)
	s3.SetPartSize(s, testPartSize)
	return s
}

// TestConformance runs the blob.Store suite against S3: a loopback gofakes3 always (its
// objects under a prefix, so keys outside it must be left alone), and AUTHCUBE_TEST_S3 too
// when set.
func TestConformance(t *testing.T) {
	endpoints(t, func(t *testing.T, newEndpoint func(t testing.TB) endpoint) {
		blobtest.Run(t, blobtest.Harness{
			Large: testPartSize,
			New: func(t *testing.T) (blob.Store, func() []string) {
				ep := newEndpoint(t)
				if ep.cfg.Prefix == "" {
					ep.cfg.Prefix = "files/"
				}
				s := open(t, ep.cfg)
				return s, func() []string { return residue(t, ep.raw, ep.cfg) }
			},
		})
	})
}

func TestPrefixKeepsOtherKeysApart(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	cfg := f.cfg("shared")
	cfg.Prefix = "app1"
	s := open(t, cfg)
	raw := rawClient(t, cfg)
	other := blobtest.UIDs(t, 1, 1)[0]
	for _, key := range []string{other, "app2/" + other, "app1/not-a-uid", "app1/sub/" + other} {
		_, err := raw.PutObject(ctx, cfg.Bucket, key, strings.NewReader("x"), 1, minio.PutObjectOptions{})
		require.NoError(t, err)
	}
	uid := blobtest.UIDs(t, 2, 1)[0]
	_, _, err := s.Put(ctx, uid, strings.NewReader("mine"), 10)
	require.NoError(t, err)
	_, err = raw.StatObject(ctx, cfg.Bucket, "app1/"+uid, minio.StatObjectOptions{})
	require.NoError(t, err, "the key is PREFIX/uid")
	assert.Equal(t, []string{uid}, blobtest.ListAll(t, s), "List sees only UIDs right under the prefix")
	_, _, err = s.Open(ctx, other)
	assert.ErrorIs(t, err, blob.ErrNotFound)
}

// TestSeekThenReadSkipsBytes checks that Open fetches with ranged GETs: reading the last KiB
// after a Seek downloads about a KiB, not the blob.
func TestSeekThenReadSkipsBytes(t *testing.T) {
	f := newFake(t)
	s := open(t, f.cfg("seek"))
	ctx := context.Background()
	uid := blobtest.UIDs(t, 3, 1)[0]
	data := blobtest.Bytes(3, 4<<20)
	_, _, err := s.Put(ctx, uid, bytes.NewReader(data), 1<<30)
	require.NoError(t, err)

	r, size, err := s.Open(ctx, uid)
	require.NoError(t, err)
	defer r.Close()
	assert.EqualValues(t, len(data), size)
	before := f.sent.Load()
	_, err = r.Seek(-1024, io.SeekEnd)
	require.NoError(t, err)
	tail, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, data[len(data)-1024:], tail)
	assert.Less(t, f.sent.Load()-before, int64(16<<10), "the skipped bytes were not downloaded")

	// Seek back into the middle: a new ranged GET from there.
	_, err = r.Seek(1<<20, io.SeekStart)
	require.NoError(t, err)
	buf := make([]byte, 100)
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	assert.Equal(t, data[1<<20:1<<20+100], buf)
	require.NoError(t, r.Close())
}

// TestCredentialsNeverInErrors provokes errors of every kind (bad signature, missing bucket,
// unreachable server, server errors) and checks that no key, secret or UID is in the text.
func TestCredentialsNeverInErrors(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	good := open(t, f.cfg("creds"))
	uid := blobtest.UIDs(t, 4, 1)[0]
	_, _, err := good.Put(ctx, uid, strings.NewReader("x"), 10)
	require.NoError(t, err)

	var errs []error
	_, err = s3.New(ctx, s3.Config{Endpoint: f.srv.Listener.Addr().String(), Bucket: "missing", Insecure: true,
		AccessKeyID: fakeKey, SecretAccessKey: fakeSecret})
	require.Error(t, err)
	errs = append(errs, err)

	// A server that refuses every request, as one does for a wrong secret.
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code>`+
			`<Message>The request signature we calculated does not match; key `+fakeKey+` object `+uid+`</Message>`+
			`<Key>`+uid+`</Key><BucketName>creds</BucketName></Error>`)
	}))
	defer deny.Close()
	_, err = s3.New(ctx, s3.Config{Endpoint: deny.Listener.Addr().String(), Bucket: "creds", Region: "us-east-1", Insecure: true,
		AccessKeyID: fakeKey, SecretAccessKey: fakeSecret})
	require.Error(t, err)
	errs = append(errs, err)

	// Unreachable: the connection is refused after the store was opened.
	down := newFake(t)
	s := open(t, down.cfg("down"))
	down.srv.Close()
	_, _, err = s.Put(ctx, uid, strings.NewReader("x"), 10)
	errs = append(errs, err)
	_, _, err = s.Open(ctx, uid)
	errs = append(errs, err)
	errs = append(errs, s.Delete(ctx, uid))
	errs = append(errs, s.List(ctx, func(string) error { return nil }))
	errs = append(errs, s.ListUploads(ctx, func(string) error { return nil }))
	errs = append(errs, s.AbortUploads(ctx, uid))

	for _, err := range errs {
		require.Error(t, err)
		msg := err.Error()
		assert.NotContains(t, msg, fakeSecret)
		assert.NotContains(t, msg, fakeKey)
		assert.NotContains(t, msg, uid)
		assert.True(t, strings.HasPrefix(msg, "blob: s3: "), msg)
	}
	assert.Contains(t, errs[1].Error(), "(HTTP 403)", "the S3 code and status are kept")
}

func TestNewRefusesBadConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]s3.Config{
		"no endpoint":      {Bucket: "b"},
		"scheme":           {Endpoint: "http://127.0.0.1:9000", Bucket: "b"},
		"path":             {Endpoint: "127.0.0.1:9000/x", Bucket: "b"},
		"user info":        {Endpoint: "k:s@127.0.0.1:9000", Bucket: "b"},
		"no bucket":        {Endpoint: "127.0.0.1:9000"},
		"absolute prefix":  {Endpoint: "127.0.0.1:9000", Bucket: "b", Prefix: "/x"},
		"half credentials": {Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKeyID: "k"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s3.New(ctx, cfg)
			require.Error(t, err)
		})
	}
	f := newFake(t)
	cfg := f.cfg("absent")
	cfg.CreateBucket = false
	_, err := s3.New(ctx, cfg)
	require.ErrorContains(t, err, "bucket does not exist")
}

// TestUploadsOfACrashedPut plays a process that died mid-upload: its multipart upload is
// invisible to List, listed by ListUploads, and gone after AbortUploads; and AbortUploads
// makes a Put in progress fail and keep nothing.
func TestUploadsOfACrashedPut(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	cfg := f.cfg("crash")
	cfg.Prefix = "p"
	s := open(t, cfg)
	raw := rawClient(t, cfg)
	core := minio.Core{Client: raw}
	us := blobtest.UIDs(t, 5, 2)
	id, err := core.NewMultipartUpload(ctx, cfg.Bucket, "p/"+us[0], minio.PutObjectOptions{})
	require.NoError(t, err)
	_, err = core.PutObjectPart(ctx, cfg.Bucket, "p/"+us[0], id, 1, bytes.NewReader(make([]byte, testPartSize)), testPartSize, minio.PutObjectPartOptions{})
	require.NoError(t, err)

	assert.Empty(t, blobtest.ListAll(t, s))
	var pending []string
	require.NoError(t, s.ListUploads(ctx, func(uid string) error { pending = append(pending, uid); return nil }))
	assert.Equal(t, []string{us[0]}, pending)
	require.NoError(t, s.AbortUploads(ctx, us[0]))
	require.NoError(t, s.AbortUploads(ctx, us[0]), "aborting none is not an error")
	assert.Empty(t, residue(t, raw, cfg))

	// A Put in progress whose upload another instance aborts fails and keeps nothing.
	var once sync.Once
	body := &hookReader{r: bytes.NewReader(blobtest.Bytes(5, 3*testPartSize)), at: 2 * testPartSize, hook: func() {
		once.Do(func() { require.NoError(t, s.AbortUploads(ctx, us[1])) })
	}}
	_, _, err = s.Put(ctx, us[1], body, 1<<30)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), us[1])
	assert.Empty(t, residue(t, raw, cfg))
}

// hookReader calls hook once at reaching byte at.
type hookReader struct {
	r    io.Reader
	n    int
	at   int
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.n < h.at && h.n+len(p) > h.at {
		p = p[:h.at-h.n]
	}
	if h.n == h.at && h.hook != nil {
		h.hook()
		h.hook = nil
	}
	n, err := h.r.Read(p)
	h.n += n
	return n, err
}

func TestPresignGet(t *testing.T) {
	f := newFake(t)
	s := open(t, f.cfg("presign"))
	ctx := context.Background()
	uid := blobtest.UIDs(t, 6, 1)[0]
	_, _, err := s.Put(ctx, uid, strings.NewReader("<html>hello</html>"), 100)
	require.NoError(t, err)
	r, _, err := s.Open(ctx, uid)
	require.NoError(t, err)
	defer r.Close()
	p, ok := r.(blob.Presigner)
	require.True(t, ok)
	u, err := p.PresignGet(ctx, time.Minute, "text/plain", `attachment; filename="a.txt"`, "private, no-store")
	require.NoError(t, err)
	assert.NotContains(t, u, fakeSecret)
	assert.Contains(t, u, "X-Amz-Signature=")
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "<html>hello</html>", string(body))
	_, err = p.PresignGet(ctx, 8*24*time.Hour, "", "", "")
	assert.Error(t, err, "more than 7 days is refused")
}

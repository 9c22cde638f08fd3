package rest_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
)

// createBlob creates a blob through the API and returns its object and upload URL.
func createBlob(t *testing.T, s *tserver, tok, name, ctype string, public bool) (map[string]any, string) {
	t.Helper()
	r := s.do("POST", "/blobs.json", tok, map[string]any{"blob": map[string]any{"name": name, "content_type": ctype, "public": public}})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	b := r.obj(t)["blob"].(map[string]any)
	access := b["blob_object_access"].(map[string]any)
	assert.Equal(t, "Write", access["object_access_type"])
	assert.Equal(t, b["id"], access["blob_id"])
	return b, access["params"].(string)
}

// upload posts data as the SDK does: to the params URL without its query, every query
// pair as a text field (decodeURIComponent), then a "file" part without a filename, typed
// application/octet-stream (a Node Buffer). hdr are extra header pairs (CB-Token, say).
func upload(t *testing.T, s *tserver, params string, data []byte, hdr ...string) resp {
	t.Helper()
	u, err := url.Parse(params)
	require.NoError(t, err)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, pair := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		k, _ = url.PathUnescape(k)
		v, _ = url.PathUnescape(v)
		require.NoError(t, mw.WriteField(k, v))
	}
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="file"`},
		"Content-Type":        {"application/octet-stream"},
	})
	require.NoError(t, err)
	_, _ = part.Write(data)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest("POST", u.Scheme+"://"+u.Host+u.Path, &buf)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return s.send(req)
}

func TestBlobFullCycle(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok, _ := s.signedIn("ann")
	data := []byte("<html><script>alert(1)</script></html>")

	b, params := createBlob(t, s, tok, "hello world.html", "text/html", false)
	uid := b["uid"].(string)
	id := fmt.Sprint(b["id"])
	assert.Nil(t, b["size"])
	assert.Nil(t, b["blob_status"])
	assert.Equal(t, false, b["public"])
	assert.Equal(t, "text/html", b["content_type"])
	assert.True(t, strings.HasPrefix(params, s.srv.URL+"/blobs/upload/"+uid+"?"), params)
	assert.NotContains(t, params, "session", "a URL with 'session' disables the SDK's renewal")
	assert.NotContains(t, params, tok, "the upload URL never carries the session token")

	r := s.do("PUT", "/blobs/"+id+"/complete.json", tok, map[string]any{"size": len(data)})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "complete before the upload")

	// The upload needs no CB-Token: the signed fields authorise it.
	r = upload(t, s, params, data)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)

	r = s.do("PUT", "/blobs/"+id+"/complete.json", tok, map[string]any{"size": len(data)})
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = s.do("PUT", "/blobs/"+id+"/complete.json", tok, map[string]any{"blob": map[string]any{"size": len(data)}})
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)

	for _, ref := range []string{id, uid} {
		r = s.do("GET", "/blobs/"+ref+".json", tok, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		info := r.obj(t)["blob"].(map[string]any)
		assert.EqualValues(t, len(data), info["size"])
		assert.Equal(t, "complete", info["blob_status"])
		assert.Equal(t, uid, info["uid"])
		assert.Equal(t, "hello world.html", info["name"])
		assert.NotNil(t, info["set_completed_at"])
	}

	// storage.privateUrl: the token in the query; the bytes, nosniff, as an attachment.
	r = s.do("GET", "/blobs/"+uid+"?token="+url.QueryEscape(tok), "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, data, r.body)
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, `attachment; filename="hello world.html"`, r.header.Get("Content-Disposition"))
	assert.Equal(t, "text/html", r.header.Get("Content-Type"))
	assert.Contains(t, r.header.Get("Content-Security-Policy"), "sandbox")
	// Or with CB-Token.
	r = s.do("GET", "/blobs/"+uid, tok, nil)
	assert.Equal(t, data, r.body)
	// Any other live session that knows the UID may read it.
	assert.Equal(t, data, s.do("GET", "/blobs/"+uid+"?token="+url.QueryEscape(s.appToken()), "", nil).body)
	// A private file without a session: the renewal 401, as for an unknown UID.
	r = s.do("GET", "/blobs/"+uid, "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, renewal, string(r.body))
	r = s.do("GET", "/blobs/0123456789abcdef0123456789abcdef", "", nil)
	assert.Equal(t, renewal, string(r.body))
	assert.Equal(t, http.StatusNotFound, s.do("GET", "/blobs/0123456789abcdef0123456789abcdef", tok, nil).status)

	// A signed download URL from object.json works without a session.
	r = s.do("GET", "/blobs/"+uid+"/object.json", tok, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	access := r.obj(t)["blob_object_access"].(map[string]any)
	assert.Equal(t, "Read", access["object_access_type"])
	assert.Equal(t, access, r.obj(t)["blob"].(map[string]any)["blob_object_access"])
	r = s.do("GET", access["params"].(string), "", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, data, r.body)
	r = s.do("GET", strings.Replace(access["params"].(string), "signature=", "signature=0", 1), "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)

	// storage.list: wrapped items.
	r = s.do("GET", "/blobs.json?current_page=1&per_page=10", tok, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	m := r.obj(t)
	assert.EqualValues(t, 1, m["current_page"])
	assert.EqualValues(t, 10, m["per_page"])
	assert.EqualValues(t, 1, m["total_entries"])
	items := m["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, uid, items[0].(map[string]any)["blob"].(map[string]any)["uid"])

	// storage.update, as the SDK sends it (a GET with blob[name]), and as a PUT.
	r = s.do("GET", "/blobs/"+id+".json?blob[name]=renamed%20one.txt", tok, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "renamed one.txt", r.obj(t)["blob"].(map[string]any)["name"])
	r = s.do("PUT", "/blobs/"+id+".json", tok, map[string]any{"blob": map[string]any{"name": "again.txt"}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "again.txt", r.obj(t)["blob"].(map[string]any)["name"])
	r = s.do("PUT", "/blobs/"+id+".json", tok, map[string]any{"blob": map[string]any{"name": ""}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	r.errs(t, "name")

	// Another user may neither rename nor delete it, nor see it by id.
	other, _ := s.signedIn("bob")
	assert.Equal(t, http.StatusForbidden, s.do("PUT", "/blobs/"+uid+".json", other, map[string]any{"blob": map[string]any{"name": "x"}}).status)
	assert.Equal(t, http.StatusForbidden, s.do("DELETE", "/blobs/"+uid+".json", other, nil).status)
	assert.Equal(t, http.StatusNotFound, s.do("GET", "/blobs/"+id+".json", other, nil).status)

	r = s.do("DELETE", "/blobs/"+id+".json", tok, nil)
	assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Empty(t, r.body)
	r = s.do("GET", "/blobs/"+id+".json", tok, nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	r.errs(t, "base")
	assert.Equal(t, http.StatusNotFound, s.do("GET", "/blobs/"+uid, tok, nil).status)
}

func TestPublicBlobAndImages(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok, _ := s.signedIn("ann")
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes")
	b, params := createBlob(t, s, tok, "a.png", "image/png", true)
	require.Equal(t, http.StatusCreated, upload(t, s, params, png, "CB-Token", tok).status)
	uid := b["uid"].(string)

	// storage.publicUrl: no session at all.
	r := s.do("GET", "/blobs/"+uid, "", nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, png, r.body)
	assert.Equal(t, "image/png", r.header.Get("Content-Type"))
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
	assert.Equal(t, `inline; filename=a.png`, r.header.Get("Content-Disposition"))
	// A dead token does not hide a public file.
	assert.Equal(t, png, s.do("GET", "/blobs/"+uid+"?token=dead", "", nil).body)
	// HEAD and ranges.
	req, _ := http.NewRequest("GET", s.srv.URL+"/blobs/"+uid, nil)
	req.Header.Set("Range", "bytes=0-3")
	r = s.send(req)
	assert.Equal(t, http.StatusPartialContent, r.status)
	assert.Equal(t, png[:4], r.body)

	// SVG is not a raster image: an attachment, even when public.
	b, params = createBlob(t, s, tok, "x.svg", "image/svg+xml", true)
	require.Equal(t, http.StatusCreated, upload(t, s, params, []byte("<svg/>")).status)
	r = s.do("GET", "/blobs/"+b["uid"].(string), "", nil)
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment"), r.header.Get("Content-Disposition"))

	// The public file survives the expiry of the handler's own session.
	s.env.Clock.Advance(3 * authcube.DefaultSessionIdleTTL)
	assert.Equal(t, png, s.do("GET", "/blobs/"+uid, "", nil).body)
}

func TestUploadAuthorisation(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{}, authcubeMaxFile(64))
	tok, _ := s.signedIn("ann")
	other, _ := s.signedIn("bob")

	t.Run("tampered signature, no token", func(t *testing.T) {
		_, params := createBlob(t, s, tok, "a.txt", "text/plain", false)
		r := upload(t, s, strings.Replace(params, "signature=", "signature=00", 1), []byte("x"))
		assert.Equal(t, http.StatusForbidden, r.status)
		r.errs(t, "base")
	})
	t.Run("tampered signature, another user's token", func(t *testing.T) {
		_, params := createBlob(t, s, tok, "a.txt", "text/plain", false)
		r := upload(t, s, strings.Replace(params, "signature=", "signature=00", 1), []byte("x"), "CB-Token", other)
		assert.Equal(t, http.StatusForbidden, r.status)
	})
	t.Run("signed URL of another file", func(t *testing.T) {
		b1, _ := createBlob(t, s, tok, "a.txt", "text/plain", false)
		_, params2 := createBlob(t, s, other, "b.txt", "text/plain", false)
		u, _ := url.Parse(params2)
		u.Path = "/blobs/upload/" + b1["uid"].(string)
		r := upload(t, s, u.String(), []byte("x"))
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "key does not match")
	})
	t.Run("owner's token without a signature", func(t *testing.T) {
		b, _ := createBlob(t, s, tok, "a.txt", "text/plain", false)
		r := upload(t, s, s.srv.URL+"/blobs/upload/"+b["uid"].(string)+"?x=1", []byte("hello"), "CB-Token", tok)
		assert.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	})
	t.Run("no file part", func(t *testing.T) {
		_, params := createBlob(t, s, tok, "a.txt", "text/plain", false)
		u, _ := url.Parse(params)
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("key", "x")
		_ = mw.Close()
		req, _ := http.NewRequest("POST", u.Scheme+"://"+u.Host+u.Path, &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		r := s.send(req)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	})
	t.Run("too large", func(t *testing.T) {
		b, params := createBlob(t, s, tok, "big.bin", "application/octet-stream", false)
		r := upload(t, s, params, bytes.Repeat([]byte("x"), 65))
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, "%s", r.body)
		r.errs(t, "file")
		assert.Equal(t, http.StatusNotFound, s.do("GET", fmt.Sprintf("/blobs/%v.json", b["id"]), tok, nil).status)
	})
	t.Run("application session cannot create", func(t *testing.T) {
		r := s.do("POST", "/blobs.json", s.appToken(), map[string]any{"blob": map[string]any{"name": "a.txt"}})
		assert.Equal(t, http.StatusForbidden, r.status)
	})
	t.Run("raw body upload with the owner's token", func(t *testing.T) {
		b, params := createBlob(t, s, tok, "raw.txt", "text/plain", false)
		req, _ := http.NewRequest("POST", params, strings.NewReader("raw bytes"))
		req.Header.Set("Content-Type", "application/octet-stream")
		r := s.send(req)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		assert.Equal(t, "raw bytes", string(s.do("GET", "/blobs/"+b["uid"].(string), tok, nil).body))
	})
}

// authcubeMaxFile caps the engine's file size.
func authcubeMaxFile(n int64) authtest.Option {
	return authtest.WithConfig(func(c *authcube.Config) { c.MaxFileSize = n })
}

func TestBlobURLsIgnoreTheHostHeader(t *testing.T) {
	t.Parallel()
	// S34: a client's Host header never reaches a signed URL; the configured base does, or else
	// the address the server listens on.
	create := func(s *tserver, tok string) string {
		req, err := http.NewRequest("POST", s.srv.URL+"/blobs.json", strings.NewReader(`{"blob":{"name":"a.png","content_type":"image/png"}}`))
		require.NoError(t, err)
		req.Host = "attacker.example"
		req.Header.Set("Content-Type", "application/json;charset=utf-8")
		req.Header.Set("CB-Token", tok)
		r := s.send(req)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		params := r.obj(t)["blob"].(map[string]any)["blob_object_access"].(map[string]any)["params"].(string)
		assert.NotContains(t, params, "attacker.example")
		return params
	}
	s := newServer(t, rest.Config{BaseURL: "https://files.example/"})
	tok, _ := s.signedIn("ann")
	assert.True(t, strings.HasPrefix(create(s, tok), "https://files.example/blobs/upload/"))

	s = newServer(t, rest.Config{})
	tok, _ = s.signedIn("ann")
	assert.True(t, strings.HasPrefix(create(s, tok), s.srv.URL+"/blobs/upload/"))
}

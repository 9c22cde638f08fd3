package rest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/blob"
)

const (
	// urlTTL is the lifetime of the upload and download URLs the handler signs.
	urlTTL = time.Hour
	// maxPendingUploads bounds the upload grants kept in memory; beyond it an upload needs the
	// owner's CB-Token (which the SDK sends anyway).
	maxPendingUploads = 10_000
	// maxFormField and maxFormParts bound the text fields of an upload form.
	maxFormField = 4 << 10
	maxFormParts = 32
)

// uploadTable remembers, per pending file, the token of the session that created it, so an
// upload authorised by a signed URL alone (as S3-style clients send, without CB-Token) can be
// written as that session.
type uploadTable struct {
	mu sync.Mutex
	m  map[string]pendingUpload
}

type pendingUpload struct {
	tok     string
	expires time.Time
}

func newUploadTable() *uploadTable { return &uploadTable{m: make(map[string]pendingUpload)} }

func (t *uploadTable) put(uid, tok string, expires, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= maxPendingUploads {
		for k, p := range t.m {
			if !now.Before(p.expires) {
				delete(t.m, k)
			}
		}
		if len(t.m) >= maxPendingUploads {
			return
		}
	}
	t.m[uid] = pendingUpload{tok: tok, expires: expires}
}

func (t *uploadTable) get(uid string, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.m[uid]
	if !ok || !now.Before(p.expires) {
		delete(t.m, uid)
		return ""
	}
	return p.tok
}

func (t *uploadTable) drop(uid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, uid)
}

// sign is the signature of a URL for kind ("upload" or "download") on uid until expires: an
// HMAC-SHA256 under the engine's derived key, so every instance sharing the store accepts it.
func (h *handler) sign(kind, uid string, expires int64) string {
	m := hmac.New(sha256.New, h.signKey)
	fmt.Fprintf(m, "%s\n%s\n%d", kind, uid, expires)
	return hex.EncodeToString(m.Sum(nil))
}

// signedOK checks a signature made by sign, and that it has not expired.
func (h *handler) signedOK(kind, uid, expires, sig string) bool {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || sig == "" || h.now().Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(h.sign(kind, uid, exp)))
}

// signedURL returns base+path with the signed query of kind, and its expiry. Values are
// escaped with %20 for spaces: the SDK decodes them with decodeURIComponent.
func (h *handler) signedURL(r *http.Request, kind, path, uid string, extra ...string) (string, time.Time) {
	exp := h.now().Add(urlTTL).Truncate(time.Second)
	pairs := append(extra, "expires", strconv.FormatInt(exp.Unix(), 10), "key", uid, "signature", h.sign(kind, uid, exp.Unix()))
	var q []string
	for i := 0; i+1 < len(pairs); i += 2 {
		q = append(q, escape(pairs[i])+"="+escape(pairs[i+1]))
	}
	return h.baseURL(r) + path + "?" + strings.Join(q, "&"), exp
}

func escape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// fileByRef finds a file by id (owner only) or by UID.
func (h *handler) fileByRef(ctx context.Context, tok, ref string) (authcube.File, error) {
	if isID(ref) {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err == nil {
			return h.e.FileByID(ctx, tok, id)
		}
	}
	if blob.ValidUID(ref) {
		return h.e.File(ctx, tok, ref)
	}
	if _, err := h.e.Session(ctx, tok); err != nil {
		return authcube.File{}, err
	}
	return authcube.File{}, authcube.ErrNotFound
}

// createBlob serves POST /blobs.json {"blob": {name, content_type, public}}: the file is
// reserved, and blob_object_access.params is the URL to upload it to, on this server.
func (h *handler) createBlob(w http.ResponseWriter, r *http.Request) error {
	b, err := h.bodyObject(w, r, "blob")
	if err != nil {
		return err
	}
	var nf authcube.NewFile
	if nf.Name, err = b.text("name"); err == nil {
		nf.ContentType, err = b.text("content_type")
	}
	if err != nil {
		return err
	}
	nf.Public = b.truthy("public")
	tok := token(r)
	f, err := h.e.CreateFile(r.Context(), tok, nf)
	if err != nil {
		return err
	}
	var extra []string
	if f.ContentType != "" {
		extra = []string{"Content-Type", f.ContentType}
	}
	params, exp := h.signedURL(r, "upload", "/blobs/upload/"+f.UID, f.UID, extra...)
	h.uploads.put(f.UID, tok, exp, h.now())
	out := h.blob(f)
	out.BlobObjectAccess = &objectAccess{ID: f.ID, BlobID: f.ID, Expires: exp.UTC().Format(timeFormat), ObjectAccessType: "Write", Params: params}
	h.writeJSON(w, http.StatusCreated, map[string]any{"blob": out})
	return nil
}

// upload serves POST /blobs/upload/{uid}: a multipart form with the fields of the upload URL's
// query (the SDK strips the query and sends its pairs as fields) and then a "file" part, which
// may have no filename (hence MultipartReader). It is authorised by the signed
// fields (or query) of the URL createBlob returned, or by the owner's CB-Token. A body that is
// not multipart is taken as the file's bytes.
func (h *handler) upload(w http.ResponseWriter, r *http.Request, uid string) error {
	if !blob.ValidUID(uid) {
		return &apiError{status: http.StatusNotFound, msg: "Not Found"}
	}
	fields := map[string]string{}
	for k := range r.URL.Query() {
		fields[k] = r.URL.Query().Get(k)
	}
	var file io.Reader
	if mr, err := r.MultipartReader(); err == nil {
		for i := 0; file == nil; i++ {
			part, err := mr.NextPart()
			if err == io.EOF || i == maxFormParts {
				return invalidField("file", "is required")
			}
			if err != nil {
				return &apiError{status: http.StatusBadRequest, msg: "malformed multipart body"}
			}
			if part.FormName() == "file" {
				file = part
				break
			}
			v, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil || len(v) > maxFormField {
				return &apiError{status: http.StatusBadRequest, msg: "malformed multipart body"}
			}
			fields[part.FormName()] = string(v)
		}
	} else {
		file = r.Body
	}
	if key, ok := fields["key"]; ok && key != uid {
		return invalidField("key", "does not match the upload URL")
	}
	var toks []string
	if h.signedOK("upload", uid, fields["expires"], fields["signature"]) {
		if tok := h.uploads.get(uid, h.now()); tok != "" {
			toks = append(toks, tok)
		}
	}
	if tok := token(r); tok != "" {
		toks = append(toks, tok)
	}
	if len(toks) == 0 {
		return &apiError{status: http.StatusForbidden, msg: "Forbidden: the upload URL is invalid or has expired"}
	}
	var f authcube.File
	var err error
	for _, tok := range toks {
		// Unauthorized and Forbidden come before any byte is read: the next token may try.
		f, err = h.e.WriteFile(r.Context(), tok, uid, file)
		if !errors.Is(err, authcube.ErrUnauthorized) && !errors.Is(err, authcube.ErrForbidden) {
			break
		}
	}
	var ce *authcube.Error
	if errors.As(err, &ce) && ce.Code == authcube.CodeInvalid && ce.Field == "file" {
		return &apiError{status: http.StatusRequestEntityTooLarge, field: "file", msg: ce.Message}
	}
	if err != nil {
		return err
	}
	h.uploads.drop(uid)
	h.writeJSON(w, http.StatusCreated, h.blobBody(f))
	return nil
}

// completeBlob serves PUT /blobs/{id}/complete.json {"size": N} (or {"blob": {"size": N}}).
// The upload completed the file already; this checks that it did.
func (h *handler) completeBlob(w http.ResponseWriter, r *http.Request, ref string) error {
	var body object
	if err := h.decodeBody(w, r, &body); err != nil {
		return err
	}
	f, err := h.fileByRef(r.Context(), token(r), ref)
	if err != nil {
		return err
	}
	if !f.Complete {
		return invalidField("", "the file has not been uploaded")
	}
	writeEmpty(w)
	return nil
}

// getBlob serves GET /blobs/{id|uid}.json, and storage.update, which the SDK sends as a GET
// with ?blob[name]= (the SDK sets no method on that call).
func (h *handler) getBlob(w http.ResponseWriter, r *http.Request, ref string) error {
	if q := r.URL.Query(); q.Has("blob[name]") {
		return h.renameBlob(w, r, ref, q.Get("blob[name]"))
	}
	f, err := h.fileByRef(r.Context(), token(r), ref)
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, h.blobBody(f))
	return nil
}

// updateBlob serves PUT /blobs/{id|uid}.json {"blob": {"name"}}.
func (h *handler) updateBlob(w http.ResponseWriter, r *http.Request, ref string) error {
	b, err := h.bodyObject(w, r, "blob")
	if err != nil {
		return err
	}
	if !b.has("name") {
		return h.getBlob(w, r, ref)
	}
	name, err := b.text("name")
	if err != nil {
		return err
	}
	return h.renameBlob(w, r, ref, name)
}

func (h *handler) renameBlob(w http.ResponseWriter, r *http.Request, ref, name string) error {
	ctx, tok := r.Context(), token(r)
	f, err := h.fileByRef(ctx, tok, ref)
	if err == nil {
		f, err = h.e.RenameFile(ctx, tok, f.UID, name)
	}
	if err != nil {
		return err
	}
	h.writeJSON(w, http.StatusOK, h.blobBody(f))
	return nil
}

// deleteBlob serves DELETE /blobs/{id|uid}.json.
func (h *handler) deleteBlob(w http.ResponseWriter, r *http.Request, ref string) error {
	ctx, tok := r.Context(), token(r)
	f, err := h.fileByRef(ctx, tok, ref)
	if err == nil {
		err = h.e.DeleteFile(ctx, tok, f.UID)
	}
	if err != nil {
		return err
	}
	writeEmpty(w)
	return nil
}

// listBlobs serves GET /blobs.json?current_page=&per_page= (page is accepted too): the
// session user's files, items wrapped as {"blob": {...}} like the legacy user lists.
func (h *handler) listBlobs(w http.ResponseWriter, r *http.Request) error {
	p, err := legacyPage(r.URL.Query(), "current_page", "page")
	if err != nil {
		return err
	}
	fp, err := h.e.Files(r.Context(), token(r), p)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(fp.Files))
	for i, f := range fp.Files {
		items[i] = h.blobBody(f)
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"current_page": p.Page, "per_page": fp.PerPage, "total_entries": fp.Total, "items": items})
	return nil
}

// blobObject serves GET /blobs/{uid}/object.json: a read grant whose params is a signed
// download URL, given both at the top level and inside the blob: the SDK types the answer as a blob,
// while ConnectyCube puts the grant at the top level.
func (h *handler) blobObject(w http.ResponseWriter, r *http.Request, ref string) error {
	f, err := h.fileByRef(r.Context(), token(r), ref)
	if err != nil {
		return err
	}
	if !f.Complete {
		return authcube.ErrNotFound
	}
	params, exp := h.signedURL(r, "download", "/blobs/"+f.UID, f.UID)
	access := &objectAccess{ID: f.ID, BlobID: f.ID, Expires: exp.UTC().Format(timeFormat), ObjectAccessType: "Read", Params: params}
	out := h.blob(f)
	out.BlobObjectAccess = access
	h.writeJSON(w, http.StatusOK, map[string]any{"blob_object_access": access, "blob": out})
	return nil
}

// errPrivate stops a download of a private file without a session.
var errPrivate = errors.New("rest: private file")

// download serves GET /blobs/{uid} (storage.privateUrl with ?token=, or CB-Token; publicUrl
// for public files with no session; or a signed URL from object.json): the bytes, with
// nosniff, and as an attachment unless a raster image (S27). Without a usable session, a
// private or unknown file answers the same 401.
func (h *handler) download(w http.ResponseWriter, r *http.Request, uid string) error {
	ctx, q := r.Context(), r.URL.Query()
	if !blob.ValidUID(uid) {
		return &apiError{status: http.StatusNotFound, msg: "Not Found"}
	}
	tok := q.Get("token")
	if tok == "" {
		tok = token(r)
	}
	if tok != "" {
		rc, f, err := h.e.OpenFile(ctx, tok, uid)
		if err == nil {
			h.serveFile(w, r, rc, f, false)
			return nil
		}
		if !errors.Is(err, authcube.ErrUnauthorized) {
			return err
		}
	}
	signed := h.signedOK("download", uid, q.Get("expires"), q.Get("signature"))
	var rc io.ReadSeekCloser
	var f authcube.File
	err := h.asService(ctx, func(svc string) error {
		meta, err := h.e.File(ctx, svc, uid)
		if err != nil {
			return err
		}
		if !meta.Public && !signed {
			return errPrivate
		}
		rc, f, err = h.e.OpenFile(ctx, svc, uid)
		return err
	})
	switch {
	case err == nil:
		h.serveFile(w, r, rc, f, f.Public)
	case signed || !(errors.Is(err, errPrivate) || errors.Is(err, authcube.ErrNotFound)):
		return err
	default:
		return authcube.ErrUnauthorized
	}
	return nil
}

// rasterTypes are served inline; anything else is an attachment (S27).
var rasterTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// serveFile streams a file (ranges, HEAD and conditional requests included).
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, rc io.ReadSeekCloser, f authcube.File, public bool) {
	defer rc.Close()
	ct := f.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	mt, _, _ := mime.ParseMediaType(ct)
	disp := "attachment"
	if rasterTypes[mt] {
		disp = "inline"
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": f.Name}); v != "" {
		disp = v
	}
	cache := "private, no-store"
	if public {
		cache = "public, max-age=300"
	}
	if h.cfg.PresignedDownloads > 0 && r.Method == http.MethodGet {
		if p, ok := rc.(blob.Presigner); ok {
			u, err := p.PresignGet(r.Context(), h.cfg.PresignedDownloads, ct, disp, cache)
			if err == nil {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("Referrer-Policy", "no-referrer")
				http.Redirect(w, r, u, http.StatusFound)
				return
			}
			h.log.Warn("rest: presigning a download; serving the bytes instead", "err", err)
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Content-Disposition", disp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", cache)
	http.ServeContent(w, r, "", f.CreatedAt, rc)
}

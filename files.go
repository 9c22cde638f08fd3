package authcube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/store"
)

// DefaultMaxFileSize is the largest file unless Config.MaxFileSize says otherwise.
const DefaultMaxFileSize = 100 << 20

// pendingFileTTL is how long a file created but never written stays before it is collected.
const pendingFileTTL = 24 * time.Hour

// NewFile describes a file to upload. Name is metadata only, never a path.
type NewFile struct {
	Name, ContentType string // ContentType "" means sniffed from the bytes
	Public            bool   // a public file is also served without a session by the REST facade
}

// File describes a stored file. Its UID (128 random bits) is its read capability: any live
// session that knows it may read the file. Ids are guessable, so FileByID is owner-only.
type File struct {
	ID          int64
	UID         string
	Name        string
	ContentType string
	Size        int64
	Public      bool
	Complete    bool // false until the bytes are written
	OwnerID     int64
	CreatedAt   time.Time
}

// FilePage is one page of files.
type FilePage struct {
	Page, PerPage, Total int
	Files                []File
	Next                 string // cursor for the following page; "" on the last
}

func publicFile(f store.File) File {
	return File{
		ID: f.ID, UID: f.UID, Name: f.Name, ContentType: f.ContentType, Size: f.Size,
		Public: f.Public, Complete: f.Complete, OwnerID: f.OwnerID, CreatedAt: f.CreatedAt,
	}
}

// UploadFile stores a file for the session's user in one call: CreateFile, then WriteFile. A
// body over Config.MaxFileSize is ErrInvalid with Field "file" and leaves nothing behind.
// Application sessions get ErrForbidden.
//
// With a blob store that has [blob.GatedPutter] (blob/s3), the pending record is committed
// while the bytes travel rather than before them: the store holds the blob invisible until
// that commit has returned, so the collector (here or on another instance), which deletes any
// blob without a record, can never see the blob first. With a metadata store that has
// [store.LazyFiles] (SQLite, PostgreSQL), that commit does not wait for the disk: only the
// completion does, and its sync makes the record durable with it (a crash before then loses
// at most a record whose upload never returned, and the collector takes its bytes). The
// result is the same as CreateFile then WriteFile, with one sync and about one round trip
// less.
func (e *Engine) UploadFile(ctx context.Context, token string, nf NewFile, r io.Reader) (File, error) {
	gp, ok := e.blobs.(blob.GatedPutter)
	if !ok {
		f, err := e.CreateFile(ctx, token, nf)
		if err != nil {
			return File{}, err
		}
		return e.WriteFile(ctx, token, f.UID, r)
	}
	const op, writeOp = "create file", "write file" // as CreateFile and WriteFile name them
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return File{}, err
	}
	defer done()
	f, err := e.pendingFile(op, s, nf)
	if err != nil {
		return File{}, err
	}
	type result struct {
		id  int64
		err error
	}
	created := make(chan result, 1)
	go func() {
		id, err := e.createFile(ctx, op, s, f, true)
		created <- result{id, err}
	}()
	var once sync.Once
	var res result
	ready := func() error { // called by PutGated, maybe on another goroutine, and below
		once.Do(func() { res = <-created })
		return res.err
	}
	size, head, err := gp.PutGated(ctx, f.UID, r, e.cfg.MaxFileSize, ready)
	if cerr := ready(); cerr != nil { // PutGated may have failed before asking
		if err == nil { // a store that broke its promise: the bytes have no record
			_ = e.deleteBytes(context.WithoutCancel(ctx), f.UID)
		}
		return File{}, cerr
	}
	f.ID = res.id
	return e.finishWrite(ctx, writeOp, s, f, size, head, err)
}

// CreateFile reserves a file for the session's user, as ConnectyCube's two-phase upload does:
// it returns the id and UID; WriteFile then stores the bytes. A file never written is collected
// after a day. Application sessions get ErrForbidden.
func (e *Engine) CreateFile(ctx context.Context, token string, nf NewFile) (File, error) {
	const op = "create file"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return File{}, err
	}
	defer done()
	f, err := e.pendingFile(op, s, nf)
	if err != nil {
		return File{}, err
	}
	if f.ID, err = e.createFile(ctx, op, s, f, false); err != nil {
		return File{}, err
	}
	return publicFile(f), nil
}

// pendingFile checks nf and returns the record of a new pending file of the session's user,
// with a fresh UID, not yet stored.
func (e *Engine) pendingFile(op string, s store.Session, nf NewFile) (store.File, error) {
	name, err := checkFileName(op, nf.Name)
	if err != nil {
		return store.File{}, err
	}
	ctype, err := checkContentType(op, nf.ContentType)
	if err != nil {
		return store.File{}, err
	}
	e.randMu.Lock()
	uid, err := blob.NewUID(e.cfg.Rand)
	e.randMu.Unlock()
	if err != nil {
		return store.File{}, internal(op, err)
	}
	return store.File{UID: uid, OwnerID: s.UserID, Name: name, ContentType: ctype, Public: nf.Public, CreatedAt: e.now()}, nil
}

// createFile commits the pending file f and returns its id: durably, or when lazy and the
// store has [store.LazyFiles], without waiting for the disk.
func (e *Engine) createFile(ctx context.Context, op string, s store.Session, f store.File, lazy bool) (int64, error) {
	create := e.store.CreateFile
	if lf, ok := e.store.(store.LazyFiles); ok && lazy {
		create = lf.CreateFileLazily
	}
	id, err := create(ctx, s.TokenHash, f)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, e.gone(ctx, op, s.TokenHash)
		}
		return 0, storeErr(op, err)
	}
	return id, nil
}

// WriteFile stores the bytes of the session user's pending file uid and completes it. The size
// cap is enforced while streaming; an empty ContentType is sniffed from the first bytes. On any
// failure the pending file is deleted. Another user's file is ErrForbidden; a completed file is
// ErrConflict (files are immutable).
func (e *Engine) WriteFile(ctx context.Context, token, uid string, r io.Reader) (File, error) {
	const op = "write file"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return File{}, err
	}
	defer done()
	f, err := e.ownFile(ctx, op, s.UserID, uid)
	if err != nil {
		return File{}, err
	}
	if f.Complete {
		return File{}, &Error{Code: CodeConflict, Op: op, Field: "file", Message: "is complete already"}
	}
	size, head, err := e.blobs.Put(ctx, uid, r, e.cfg.MaxFileSize)
	return e.finishWrite(ctx, op, s, f, size, head, err)
}

// finishWrite completes the pending file f whose bytes were put (size and head, or the Put's
// error putErr): on failure the pending file is deleted.
func (e *Engine) finishWrite(ctx context.Context, op string, s store.Session, f store.File, size int64, head []byte, putErr error) (File, error) {
	if errors.Is(putErr, fs.ErrExist) { // a concurrent WriteFile of the same file got there first
		return File{}, &Error{Code: CodeConflict, Op: op, Field: "file", Message: "is being written already"}
	}
	if putErr != nil {
		_ = e.store.DeleteFile(context.WithoutCancel(ctx), s.TokenHash, f.UID, s.UserID)
		if errors.Is(putErr, blob.ErrTooLarge) {
			return File{}, invalid(op, "file", fmt.Sprintf("is larger than %d bytes", e.cfg.MaxFileSize))
		}
		return File{}, internal(op, putErr)
	}
	ctype := f.ContentType
	if ctype == "" {
		ctype = http.DetectContentType(head)
	}
	complete, err := e.store.CompleteFile(ctx, s.TokenHash, f.UID, s.UserID, size, ctype)
	if err != nil { // deleted meanwhile: its bytes go too
		_ = e.deleteBytes(context.WithoutCancel(ctx), f.UID)
		return File{}, storeErr(op, err)
	}
	return publicFile(complete), nil
}

// OpenFile opens a complete file for reading. Any live session that knows the UID may read it.
// The caller closes the reader. With a blob store that can sign URLs (blob/s3), the reader
// also implements [blob.Presigner], for handing the client a short-lived URL instead of the
// bytes. A malformed UID is ErrInvalid (Field "uid"); an unknown or
// pending file is ErrNotFound.
func (e *Engine) OpenFile(ctx context.Context, token, uid string) (io.ReadSeekCloser, File, error) {
	const op = "open file"
	if err := e.begin(op); err != nil {
		return nil, File{}, err
	}
	defer e.done()
	if _, err := e.live(ctx, op, token); err != nil {
		return nil, File{}, err
	}
	f, err := e.readableFile(ctx, op, uid)
	if err != nil {
		return nil, File{}, err
	}
	rc, _, err := e.blobs.Open(ctx, uid)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, File{}, errorFor(ErrNotFound, op, "")
	}
	if err != nil {
		return nil, File{}, internal(op, err)
	}
	return rc, f, nil
}

// File returns the details of a complete file, for any live session that knows the UID, or of
// the session user's own pending file.
func (e *Engine) File(ctx context.Context, token, uid string) (File, error) {
	const op = "file"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return File{}, err
	}
	defer done()
	f, err := e.findFile(ctx, op, uid)
	if err != nil {
		return File{}, err
	}
	if !f.Complete && f.OwnerID != s.UserID {
		return File{}, errorFor(ErrNotFound, op, "")
	}
	return publicFile(f), nil
}

// FileByID returns the session user's own file with the id. Ids are guessable, so another
// user's file is ErrNotFound, as an unknown id is.
func (e *Engine) FileByID(ctx context.Context, token string, id int64) (File, error) {
	const op = "file by id"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return File{}, err
	}
	defer done()
	f, err := e.store.FileByID(ctx, id)
	if err != nil {
		return File{}, storeErr(op, err)
	}
	if f.OwnerID != s.UserID {
		return File{}, errorFor(ErrNotFound, op, "")
	}
	return publicFile(f), nil
}

// Files lists the session user's own files by id, a page at a time (see Page).
func (e *Engine) Files(ctx context.Context, token string, p Page) (FilePage, error) {
	const op = "files"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return FilePage{}, err
	}
	defer done()
	perPage, offset, err := pageBounds(op, p)
	if err != nil {
		return FilePage{}, err
	}
	var after int64
	if p.After != "" {
		key, err := decodeCursor(p.After, "file", false)
		if err != nil {
			return FilePage{}, invalid(op, "after", err.Error())
		}
		after = key.ID
	}
	rows, total, err := e.store.UserFiles(ctx, s.UserID, after, offset, perPage+1, totalCap)
	if err != nil {
		return FilePage{}, storeErr(op, err)
	}
	fp := FilePage{Page: offset/perPage + 1, PerPage: perPage, Total: total, Files: make([]File, 0, min(len(rows), perPage))}
	if p.After != "" {
		fp.Page = 0
	}
	for i, f := range rows {
		if i == perPage {
			fp.Next = encodeCursor("file", false, store.User{ID: rows[perPage-1].ID})
			break
		}
		fp.Files = append(fp.Files, publicFile(f))
	}
	return fp, nil
}

// RenameFile renames the session user's own file. Another user's file is ErrForbidden.
func (e *Engine) RenameFile(ctx context.Context, token, uid, name string) (File, error) {
	const op = "rename file"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return File{}, err
	}
	defer done()
	if name, err = checkFileName(op, name); err != nil {
		return File{}, err
	}
	if _, err := e.ownFile(ctx, op, s.UserID, uid); err != nil {
		return File{}, err
	}
	f, err := e.store.RenameFile(ctx, s.TokenHash, uid, s.UserID, name)
	if err != nil {
		return File{}, storeErr(op, err)
	}
	return publicFile(f), nil
}

// DeleteFile deletes the session user's own file (and clears it as the avatar). Another user's
// file is ErrForbidden.
func (e *Engine) DeleteFile(ctx context.Context, token, uid string) error {
	const op = "delete file"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	if _, err := e.ownFile(ctx, op, s.UserID, uid); err != nil {
		return err
	}
	if err := e.store.DeleteFile(ctx, s.TokenHash, uid, s.UserID); err != nil {
		return storeErr(op, err)
	}
	if err := e.deleteBytes(context.WithoutCancel(ctx), uid); err != nil {
		e.log.Warn("authcube: deleting file bytes; the collector will retry", "err", err)
	}
	return nil
}

// deleteBytes deletes the bytes of a file whose row is gone, unless a Backup is linking them.
func (e *Engine) deleteBytes(ctx context.Context, uid string) error {
	e.blobDeletes.RLock()
	defer e.blobDeletes.RUnlock()
	return e.blobs.Delete(ctx, uid)
}

// findFile loads the file uid: ErrInvalid for a malformed UID (never a path: S27), ErrNotFound
// for an unknown one.
func (e *Engine) findFile(ctx context.Context, op, uid string) (store.File, error) {
	if !blob.ValidUID(uid) {
		return store.File{}, invalid(op, "uid", "is not a file UID")
	}
	f, err := e.store.File(ctx, uid)
	if err != nil {
		return store.File{}, storeErr(op, err)
	}
	return f, nil
}

// ownFile returns the file uid if userID owns it, ErrForbidden if another user does.
func (e *Engine) ownFile(ctx context.Context, op string, userID int64, uid string) (store.File, error) {
	f, err := e.findFile(ctx, op, uid)
	if err == nil && f.OwnerID != userID {
		err = errorFor(ErrForbidden, op, "")
	}
	return f, err
}

// readableFile returns the complete file uid; a pending one is ErrNotFound.
func (e *Engine) readableFile(ctx context.Context, op, uid string) (File, error) {
	f, err := e.findFile(ctx, op, uid)
	if err == nil && !f.Complete {
		err = errorFor(ErrNotFound, op, "")
	}
	if err != nil {
		return File{}, err
	}
	return publicFile(f), nil
}

// checkFileName accepts 1 to 255 characters of printable text: the name is metadata only.
func checkFileName(op, name string) (string, error) {
	name = norm.NFC.String(strings.TrimSpace(name))
	switch {
	case name == "":
		return "", invalid(op, "name", "is required")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > 255:
		return "", invalid(op, "name", "must be 1 to 255 characters")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || isBidiControl(r) }) >= 0:
		return "", invalid(op, "name", "must not contain control characters")
	}
	return name, nil
}

// checkContentType accepts "" (sniff) or one media type.
func checkContentType(op, ct string) (string, error) {
	if ct == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || len(ct) > 255 {
		return "", invalid(op, "content_type", "is not a media type")
	}
	return mime.FormatMediaType(mt, params), nil
}

// isBidiControl reports the directional formatting characters that can disguise a name.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// collectFiles deletes pending files older than a day, bytes no file row points to, and (with a
// blob store that has [blob.Uploads]) the unfinished uploads of files no longer pending. Every
// decision comes from the shared store, never from this engine's memory, so several engines on
// one store and one bucket collect correctly: a file row exists before its bytes are written,
// an upload is left alone while its file is pending (another engine may be writing it), and a
// pending file goes only after a day, when its upload is aborted too.
func (e *Engine) collectFiles(ctx context.Context) error {
	uids, err := e.store.DeletePendingFiles(ctx, e.now().Add(-pendingFileTTL))
	if err != nil {
		return err
	}
	for _, uid := range uids {
		if err := e.deleteBytes(ctx, uid); err != nil {
			return err
		}
	}
	if up, ok := e.blobs.(blob.Uploads); ok {
		err := up.ListUploads(ctx, func(uid string) error {
			f, err := e.store.File(ctx, uid)
			if err == nil && !f.Complete {
				return nil
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return up.AbortUploads(ctx, uid)
		})
		if err != nil {
			return err
		}
	}
	return e.blobs.List(ctx, func(uid string) error {
		exists, err := e.store.FileExists(ctx, uid)
		if err != nil || exists {
			return err
		}
		return e.deleteBytes(ctx, uid)
	})
}

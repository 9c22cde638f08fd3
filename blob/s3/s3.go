// Package s3 is a [blob.Store] on an S3-compatible object store (AWS S3, MinIO, Cloudflare R2,
// Backblaze B2, Ceph, SeaweedFS, Garage, ...), so several authcube instances can share file
// bytes as they share a PostgreSQL store. It uses github.com/minio/minio-go/v7.
//
// Blob abcdef… is the object PREFIX/abcdef…: keys are engine UIDs, never caller names. A
// UID is a read capability, and the keys and credentials are secrets, so errors from this
// package carry neither: they name the operation, the S3 error code and the HTTP status only.
// Nothing is logged.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/authcube/authcube/blob"
)

// Config says where the blobs live.
type Config struct {
	Endpoint        string // "s3.amazonaws.com", "127.0.0.1:9000", ...; required
	Bucket          string // required
	Region          string // "" lets the client find it
	AccessKeyID     string
	SecretAccessKey string
	Prefix          string // key prefix inside the bucket, "" for none
	Insecure        bool   // plain HTTP, for a local server
	CreateBucket    bool   // create the bucket when missing (else a missing bucket is an error at New)
}

// DefaultPartSize is the size of the parts a large blob is uploaded in, and so the memory one
// Put holds: at most five parts (four uploading at once while the next is read), 40 MiB. A
// blob of at most one part is one PUT. Parts of 8 MiB allow blobs up to 78 GiB (S3 allows
// 10,000 parts).
const DefaultPartSize = 8 << 20

// maxInFlight is how many parts of one Put upload at once.
const maxInFlight = 4

// abortTimeout bounds the clean-up of a failed Put, which runs even when ctx has ended.
const abortTimeout = time.Minute

// Store is the S3 [blob.Store]. Besides the Store methods it has the [blob.Uploads] ability
// (for collecting multipart uploads a crashed process left unfinished), and the readers Open
// returns have [blob.Presigner]. It has no [blob.Linker]: the bytes stay in the bucket.
//
// Put refuses a UID that exists (blobs are immutable) by a conditional write (If-None-Match),
// which AWS S3, MinIO and R2 honour; on a server that ignores it, a check just before the
// write narrows the window but cannot close it. authcube never writes one UID twice on
// purpose: a UID is random and each file is written once.
//
// A Store is safe for concurrent use, also by several processes on one bucket and prefix.
type Store struct {
	client   *minio.Client
	core     minio.Core
	tr       *http.Transport
	bucket   string
	prefix   string
	partSize int
	secrets  []string // removed from any error text, to be sure
	closed   atomic.Bool
	bufs     sync.Pool // *[]byte of partSize
}

var (
	_ blob.Store       = (*Store)(nil)
	_ blob.Uploads     = (*Store)(nil)
	_ blob.GatedPutter = (*Store)(nil)
	_ blob.Presigner   = (*reader)(nil)
)

// New connects to the bucket and checks that it exists, creating it when cfg.CreateBucket is
// set. Endpoint is host[:port] without a scheme (HTTPS unless Insecure). Prefix gets a "/"
// appended when it lacks one. Empty keys mean anonymous requests. Errors name the field at
// fault or the S3 error, never a key.
func New(ctx context.Context, cfg Config) (*Store, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("blob: s3: Endpoint is required")
	case strings.Contains(cfg.Endpoint, "://") || strings.ContainsAny(cfg.Endpoint, "/?#@"):
		return nil, errors.New("blob: s3: Endpoint must be host[:port], without a scheme or path (set Insecure for plain HTTP)")
	case cfg.Bucket == "":
		return nil, errors.New("blob: s3: Bucket is required")
	case strings.HasPrefix(cfg.Prefix, "/") || len(cfg.Prefix) > 512:
		return nil, errors.New("blob: s3: Prefix must not start with / and must be at most 512 bytes")
	case (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == ""):
		return nil, errors.New("blob: s3: AccessKeyID and SecretAccessKey go together")
	}
	prefix := cfg.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	tr, err := minio.DefaultTransport(!cfg.Insecure)
	if err != nil {
		return nil, fmt.Errorf("blob: s3: new: %w", err)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		Secure:    !cfg.Insecure,
		Region:    cfg.Region,
		Transport: tr,
	})
	s := &Store{tr: tr, bucket: cfg.Bucket, prefix: prefix, partSize: DefaultPartSize}
	for _, v := range []string{cfg.AccessKeyID, cfg.SecretAccessKey} {
		if v != "" {
			s.secrets = append(s.secrets, v)
		}
	}
	if err != nil {
		return nil, s.fail("new", err)
	}
	s.client, s.core = client, minio.Core{Client: client}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		tr.CloseIdleConnections()
		return nil, s.fail("new", err)
	}
	if !ok {
		if !cfg.CreateBucket {
			tr.CloseIdleConnections()
			return nil, errors.New("blob: s3: new: the bucket does not exist (set CreateBucket to create it)")
		}
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			tr.CloseIdleConnections()
			return nil, s.fail("new", err)
		}
	}
	return s, nil
}

func (s *Store) key(uid string) string { return s.prefix + uid }

// check refuses a bad UID, a closed store and an ended ctx, in that order.
func (s *Store) check(ctx context.Context, op, uid string) error {
	if !blob.ValidUID(uid) {
		return blob.ErrInvalidUID
	}
	return s.ready(ctx, op)
}

func (s *Store) ready(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("blob: s3: %s: store is closed", op)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: s3: %s: %w", op, err)
	}
	return nil
}

// Put implements [blob.Store.Put]. It reads at most max+1 bytes, a part at a time. Payloads
// are sent unsigned (UNSIGNED-PAYLOAD: no streaming signature, which some servers cannot decode
// in parts, and no client-side hashing, which halved the throughput); HTTPS protects them in
// transit, and the request headers stay signed.
//
// A body that says how many bytes it has left (a *bytes.Reader or *strings.Reader) and has
// fewer than a part is one conditional PUT of exactly those bytes, sent from the body itself
// (more than max is ErrTooLarge before a byte is read). Any other body is read into memory up
// to a part: a blob of at most one part is sent as one conditional PUT once its bytes are all
// read. A larger one is a multipart upload, each part sent while the next is read, and
// completed only after the last byte was read and counted: over the cap, on a read error, or
// when ctx ends, the upload is aborted (with a fresh minute-long context when ctx has ended),
// so no object is created and none is ever partly visible. A single PUT cut short (ctx ended,
// connection lost) creates nothing either: S3 stores an object only once it has all the
// Content-Length bytes.
func (s *Store) Put(ctx context.Context, uid string, r io.Reader, max int64) (int64, []byte, error) {
	return s.put(ctx, uid, r, max, nil)
}

// PutGated implements [blob.GatedPutter]. A single PUT holds back the last byte of its body
// until ready has returned nil, so the server, which stores nothing before it has every byte,
// cannot make the object visible earlier; an empty blob calls ready before its PUT. A
// multipart upload calls ready before the upload is created (an unfinished upload is visible
// to ListUploads). When ready fails, the PUT is cut short and PutGated returns ready's error.
func (s *Store) PutGated(ctx context.Context, uid string, r io.Reader, max int64, ready func() error) (int64, []byte, error) {
	if ready == nil {
		return 0, nil, errors.New("blob: s3: put: nil ready")
	}
	return s.put(ctx, uid, r, max, ready)
}

// put is Put, gated by ready unless ready is nil.
func (s *Store) put(ctx context.Context, uid string, r io.Reader, max int64, ready func() error) (int64, []byte, error) {
	if err := s.check(ctx, "put", uid); err != nil {
		return 0, nil, err
	}
	if max < 0 {
		return 0, nil, errors.New("blob: s3: put: negative limit")
	}
	key := s.key(uid)
	if body, n, ok := knownSize(r); ok && n < int64(s.partSize) {
		if n > max {
			return 0, nil, blob.ErrTooLarge
		}
		head := make([]byte, min(n, 512))
		if k, err := body.ReadAt(head, 0); k < len(head) {
			return 0, nil, fmt.Errorf("blob: s3: put: read: %w", err)
		}
		if err := s.putOne(ctx, key, body, n, ready); err != nil {
			return 0, nil, err
		}
		_, _ = r.(io.Seeker).Seek(n, io.SeekCurrent) // the body is consumed, as by any Put
		return n, head, nil
	}
	limit := max + 1
	if max == 1<<63-1 {
		limit = max
	}
	cr := &cappedReader{ctx: ctx, r: io.LimitReader(r, limit), max: max}

	// The first part grows as it fills, so a small blob never holds a whole part's memory.
	first, err := cr.fillGrowing(s.partSize)
	if err != nil {
		return 0, nil, err
	}
	head := bytes.Clone(first[:min(len(first), 512)])
	if len(first) < s.partSize { // the whole blob: one PUT
		if err := s.putOne(ctx, key, bytes.NewReader(first), int64(len(first)), ready); err != nil {
			return 0, nil, err
		}
		return int64(len(first)), head, nil
	}
	if ready != nil {
		if err := ready(); err != nil {
			return 0, nil, err
		}
	}
	if err := s.multipart(ctx, key, cr, first); err != nil {
		return 0, nil, err
	}
	return cr.n, head, nil
}

// knownSize returns the unread bytes of r, as a reader of their own, when r says how many
// there are and cannot change that: a *bytes.Reader or a *strings.Reader.
func knownSize(r io.Reader) (*io.SectionReader, int64, bool) {
	var ra io.ReaderAt
	var size, left int64
	switch v := r.(type) {
	case *bytes.Reader:
		ra, size, left = v, v.Size(), int64(v.Len())
	case *strings.Reader:
		ra, size, left = v, v.Size(), int64(v.Len())
	default:
		return nil, 0, false
	}
	return io.NewSectionReader(ra, size-left, left), left, true
}

// putOne stores the n bytes of body as the object key with one conditional PUT (If-None-Match:
// a key that exists is fs.ErrExist), gated by ready unless ready is nil (see PutGated). The
// body's last bytes go out only while ctx is live, so a ctx that ends before then leaves no
// object even when the client has sent all the rest.
func (s *Store) putOne(ctx context.Context, key string, body io.ReadSeeker, n int64, ready func() error) error {
	opts := minio.PutObjectOptions{DisableMultipart: true, DisableContentSha256: true}
	opts.SetMatchETagExcept("*")
	var rd io.Reader
	var g *gate
	if n == 0 {
		if ready != nil {
			if err := ready(); err != nil {
				return err
			}
		}
	} else {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		g = &gate{ctx: ctx, r: body, n: n, ready: ready, cancel: cancel}
		rd = g
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, rd, n, opts)
	if err != nil {
		if g != nil {
			if rerr := g.failed(); rerr != nil {
				return rerr
			}
		}
		if isPrecondition(err) {
			return errExist()
		}
		return s.fail("put", err)
	}
	if g != nil && !g.passed() { // the client sent the body without reading it through the gate
		return errors.New("blob: s3: put: the body bypassed its gate")
	}
	return nil
}

// gate is the body of a single PUT: it reads r (n bytes), but before a read that could return
// the last byte it calls ready (once, unless ready is nil) and checks ctx. A failing ready
// fails that read and cancels ctx with ready's error, so the client does not retry; an ended
// ctx fails it too. The server stores nothing before it has all n bytes, so the object cannot
// be visible before ready has returned nil, nor created once ctx ended before then. gate is an
// io.Seeker, so the client may retry a PUT that failed otherwise, and deliberately not an
// io.ReaderAt, so the client reads through it.
type gate struct {
	ctx    context.Context
	r      io.ReadSeeker
	n, pos int64
	ready  func() error
	cancel context.CancelCauseFunc
	once   sync.Once
	err    error       // ready's answer, set inside once
	ok     atomic.Bool // ready returned nil (or was nil)
	bad    atomic.Pointer[error]
}

func (g *gate) Read(p []byte) (int, error) {
	if g.pos+int64(len(p)) >= g.n {
		g.once.Do(func() {
			if g.ready != nil {
				g.err = g.ready()
			}
			if g.err != nil {
				g.bad.Store(&g.err)
				g.cancel(g.err)
				return
			}
			g.ok.Store(true)
		})
		if g.err != nil {
			return 0, g.err
		}
		if err := g.ctx.Err(); err != nil {
			return 0, err
		}
	}
	k, err := g.r.Read(p)
	g.pos += int64(k)
	return k, err
}

func (g *gate) Seek(offset int64, whence int) (int64, error) {
	pos, err := g.r.Seek(offset, whence)
	if err == nil {
		g.pos = pos
	}
	return pos, err
}

// failed returns ready's error, if ready was called and failed. It may be called while the
// client still reads the body.
func (g *gate) failed() error {
	if p := g.bad.Load(); p != nil {
		return *p
	}
	return nil
}

// passed reports whether ready was called and returned nil.
func (g *gate) passed() bool { return g.ok.Load() }

// multipart uploads first (a full part) and the rest of cr, then completes the upload; on any
// failure it aborts it.
func (s *Store) multipart(ctx context.Context, key string, cr *cappedReader, first []byte) (err error) {
	uploadID, err := s.core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{})
	if err != nil {
		return s.fail("put", err)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			_ = s.core.AbortMultipartUpload(actx, s.bucket, key, uploadID)
		}
	}()

	// Up to maxInFlight parts upload at once while the next is read, each from its own buffer.
	uctx, stop := context.WithCancel(ctx)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		parts   []minio.CompletePart
		failure error
	)
	slots := make(chan struct{}, maxInFlight)
	defer func() { // before the abort above
		stop()
		wg.Wait()
	}()
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return failure
	}
	cur, pooled := first, (*[]byte)(nil) // pooled is cur's buffer when it came from the pool
	for number := 1; ; number++ {
		slots <- struct{}{}
		if err := failed(); err != nil {
			return s.fail("put", err)
		}
		wg.Add(1)
		go func(body []byte, pooled *[]byte) {
			defer wg.Done()
			p, err := s.core.PutObjectPart(uctx, s.bucket, key, uploadID, number, bytes.NewReader(body), int64(len(body)),
				minio.PutObjectPartOptions{DisableContentSha256: true})
			if pooled != nil {
				s.putBuf(pooled)
			}
			mu.Lock()
			if err != nil && failure == nil {
				failure = err
				stop()
			}
			parts = append(parts, minio.CompletePart{PartNumber: number, ETag: p.ETag})
			mu.Unlock()
			<-slots
		}(cur, pooled)
		if len(cur) < s.partSize { // the last part
			break
		}
		next := s.buf()
		n, rerr := cr.fill(*next)
		if rerr != nil || n == 0 {
			s.putBuf(next)
			if rerr != nil {
				return rerr
			}
			break
		}
		cur, pooled = (*next)[:n], next
	}
	wg.Wait()
	if err := failed(); err != nil {
		return s.fail("put", err)
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: s3: put: %w", err)
	}
	// Servers that ignore If-None-Match on completion are caught here, but for a race.
	if exists, err := s.exists(ctx, key); err != nil {
		return s.fail("put", err)
	} else if exists {
		return errExist()
	}
	opts := minio.PutObjectOptions{}
	opts.SetMatchETagExcept("*")
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, opts); err != nil {
		if isPrecondition(err) {
			return errExist()
		}
		return s.fail("put", err)
	}
	return nil
}

// cappedReader reads the body of a Put: it counts the bytes, fails with blob.ErrTooLarge past
// max, and checks ctx before every read.
type cappedReader struct {
	ctx context.Context
	r   io.Reader
	max int64
	n   int64
	eof bool
}

// fill reads into p until p is full or the body ends, returning how many bytes it read.
func (c *cappedReader) fill(p []byte) (int, error) {
	k := 0
	for k < len(p) && !c.eof {
		if err := c.ctx.Err(); err != nil {
			return 0, fmt.Errorf("blob: s3: put: %w", err)
		}
		m, err := c.r.Read(p[k:])
		k += m
		c.n += int64(m)
		if c.n > c.max {
			return 0, blob.ErrTooLarge
		}
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return 0, fmt.Errorf("blob: s3: put: read: %w", err)
		}
	}
	return k, nil
}

// fillGrowing reads up to max bytes into a buffer that starts at 64 KiB and grows fourfold as it
// fills. A full buffer grows only once a one-byte read shows more is coming, so a body that
// ends at a power-of-four size is not copied into a buffer four times as large for nothing.
func (c *cappedReader) fillGrowing(max int) ([]byte, error) {
	buf := make([]byte, 0, min(64<<10, max))
	for len(buf) < max && !c.eof {
		if len(buf) == cap(buf) {
			var probe [1]byte
			n, err := c.fill(probe[:])
			if err != nil {
				return nil, err
			}
			if n == 0 {
				break
			}
			buf = append(append(make([]byte, 0, min(4*cap(buf), max)), buf...), probe[0])
			continue
		}
		n, err := c.fill(buf[len(buf):cap(buf)])
		if err != nil {
			return nil, err
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

func (s *Store) buf() *[]byte {
	if b, ok := s.bufs.Get().(*[]byte); ok && len(*b) == s.partSize {
		return b
	}
	b := make([]byte, s.partSize)
	return &b
}

func (s *Store) putBuf(b *[]byte) { s.bufs.Put(b) }

// exists reports whether the object key exists.
func (s *Store) exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, err
}

// Open implements [blob.Store.Open]. The reader fetches bytes with ranged GETs from its
// position, so a Seek followed by a Read downloads nothing before the position; a Seek drops
// the response in progress only when it moves the position. Reads use ctx: the reader fails
// once ctx has ended. The reader implements [blob.Presigner].
func (s *Store) Open(ctx context.Context, uid string) (io.ReadSeekCloser, int64, error) {
	if err := s.check(ctx, "open", uid); err != nil {
		return nil, 0, err
	}
	key := s.key(uid)
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return nil, 0, blob.ErrNotFound
	}
	if err != nil {
		return nil, 0, s.fail("open", err)
	}
	return &reader{s: s, ctx: ctx, key: key, etag: info.ETag, size: info.Size}, info.Size, nil
}

// reader is the io.ReadSeekCloser Open returns.
type reader struct {
	s      *Store
	ctx    context.Context
	key    string
	etag   string
	size   int64
	pos    int64
	body   io.ReadCloser // nil, or the response of a GET from bodyAt
	bodyAt int64
	closed bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("blob: s3: read: reader is closed")
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.body == nil || r.bodyAt != r.pos {
		r.drop()
		opts := minio.GetObjectOptions{}
		if r.pos > 0 { // bytes=POS- (SetRange(0, 0) would mean the first byte only)
			if err := opts.SetRange(r.pos, 0); err != nil {
				return 0, r.s.fail("read", err)
			}
		}
		if r.etag != "" {
			_ = opts.SetMatchETag(r.etag)
		}
		body, _, _, err := r.s.core.GetObject(r.ctx, r.s.bucket, r.key, opts)
		if err != nil {
			return 0, r.s.fail("read", err)
		}
		r.body, r.bodyAt = body, r.pos
	}
	n, err := r.body.Read(p[:min(int64(len(p)), r.size-r.pos)])
	r.pos += int64(n)
	r.bodyAt = r.pos
	if err == io.EOF {
		r.drop()
		if r.pos < r.size {
			return n, r.s.fail("read", io.ErrUnexpectedEOF)
		}
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	if err != nil {
		r.drop()
		return n, r.s.fail("read", err)
	}
	return n, nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, errors.New("blob: s3: seek: reader is closed")
	}
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = r.pos + offset
	case io.SeekEnd:
		pos = r.size + offset
	default:
		return 0, errors.New("blob: s3: seek: invalid whence")
	}
	if pos < 0 {
		return 0, errors.New("blob: s3: seek: negative position")
	}
	r.pos = pos
	return pos, nil
}

func (r *reader) drop() {
	if r.body != nil {
		_ = r.body.Close()
		r.body = nil
	}
}

func (r *reader) Close() error {
	r.drop()
	r.closed = true
	return nil
}

// PresignGet implements [blob.Presigner] with a presigned GET signed by the store's keys
// (AWS signature version 4: ttl from one second to seven days). The URL carries no secret,
// only a signature; the response headers are set by the response-* query parameters.
func (r *reader) PresignGet(ctx context.Context, ttl time.Duration, contentType, disposition, cacheControl string) (string, error) {
	if err := r.s.ready(ctx, "presign"); err != nil {
		return "", err
	}
	if ttl < time.Second || ttl > 7*24*time.Hour {
		return "", errors.New("blob: s3: presign: ttl must be from 1s to 7 days")
	}
	q := url.Values{}
	for k, v := range map[string]string{
		"response-content-type": contentType, "response-content-disposition": disposition, "response-cache-control": cacheControl,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u, err := r.s.client.PresignedGetObject(ctx, r.s.bucket, r.key, ttl, q)
	if err != nil {
		return "", r.s.fail("presign", err)
	}
	return u.String(), nil
}

// Delete implements [blob.Store.Delete]: one DELETE, which S3 answers alike for a missing key.
// In a versioned bucket it adds a delete marker and the bytes stay as a noncurrent version.
func (s *Store) Delete(ctx context.Context, uid string) error {
	if err := s.check(ctx, "delete", uid); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.key(uid), minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return s.fail("delete", err)
	}
	return nil
}

// List implements [blob.Store.List], a page of up to 1,000 keys at a time under the prefix.
// Keys that are not a UID right under the prefix are skipped.
func (s *Store) List(ctx context.Context, fn func(uid string) error) error {
	if err := s.ready(ctx, "list"); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true})
	drain := func() {
		cancel()
		for range objects {
		}
	}
	for o := range objects {
		if o.Err != nil {
			drain()
			if ctx.Err() != nil {
				return fmt.Errorf("blob: s3: list: %w", ctx.Err())
			}
			return s.fail("list", o.Err)
		}
		uid, ok := strings.CutPrefix(o.Key, s.prefix)
		if !ok || !blob.ValidUID(uid) {
			continue
		}
		if err := ctx.Err(); err != nil {
			drain()
			return fmt.Errorf("blob: s3: list: %w", err)
		}
		if err := fn(uid); err != nil {
			drain()
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: s3: list: %w", err)
	}
	return nil
}

// ListUploads implements [blob.Uploads], a page of up to 1,000 unfinished multipart uploads
// at a time under the prefix.
func (s *Store) ListUploads(ctx context.Context, fn func(uid string) error) error {
	if err := s.ready(ctx, "list uploads"); err != nil {
		return err
	}
	keyMarker, idMarker := "", ""
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.bucket, s.prefix, keyMarker, idMarker, "", 1000)
		if minio.ToErrorResponse(err).Code == "NoSuchUpload" { // some servers' answer for none
			return nil
		}
		if err != nil {
			return s.fail("list uploads", err)
		}
		for _, u := range res.Uploads {
			uid, ok := strings.CutPrefix(u.Key, s.prefix)
			if !ok || !blob.ValidUID(uid) {
				continue
			}
			if err := fn(uid); err != nil {
				return err
			}
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			return nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("blob: s3: list uploads: %w", err)
		}
	}
}

// AbortUploads implements [blob.Uploads].
func (s *Store) AbortUploads(ctx context.Context, uid string) error {
	if err := s.check(ctx, "abort uploads", uid); err != nil {
		return err
	}
	err := s.client.RemoveIncompleteUpload(ctx, s.bucket, s.key(uid))
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		return s.fail("abort uploads", err)
	}
	return nil
}

// Close marks the store closed and drops its idle connections. Methods called after Close
// return errors; readers already open keep working. Close may be called more than once.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.tr.CloseIdleConnections()
	return nil
}

func errExist() error { return fmt.Errorf("blob: s3: put: %w", fs.ErrExist) }

func isNotFound(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NoSuchObject", "NotFound", "NoSuchVersion":
		return true
	}
	return false
}

func isPrecondition(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed"
}

// fail turns an error of the client into one that names op and the cause only: an S3 error
// response becomes its code and HTTP status (its message, key and bucket are left out); a
// transport error loses its URL; ctx's errors stay matchable. Any credential text left is
// removed as a last guard.
func (s *Store) fail(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("blob: s3: %s: %w", op, context.Canceled)
		}
		return fmt.Errorf("blob: s3: %s: %w", op, context.DeadlineExceeded)
	}
	var msg string
	if r := minio.ToErrorResponse(err); r.Code != "" {
		msg = fmt.Sprintf("%s (HTTP %d)", r.Code, r.StatusCode)
	} else if ue := (*url.Error)(nil); errors.As(err, &ue) {
		msg = ue.Op + ": " + ue.Err.Error()
	} else {
		msg = err.Error()
	}
	for _, v := range s.secrets {
		msg = strings.ReplaceAll(msg, v, "[redacted]")
	}
	if s.prefix != "" {
		msg = strings.ReplaceAll(msg, s.prefix, "")
	}
	return fmt.Errorf("blob: s3: %s: %s", op, redactUIDs(msg))
}

// redactUIDs replaces every run of 32 lowercase hex characters (a UID) in msg.
func redactUIDs(msg string) string {
	var b strings.Builder
	run := 0
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'f' {
			run++
		} else {
			run = 0
		}
		b.WriteByte(c)
		if run == blob.UIDLen {
			s := b.String()
			b.Reset()
			b.WriteString(s[:len(s)-blob.UIDLen])
			b.WriteString("[uid]")
			run = 0
		}
	}
	return b.String()
}

// Package blob keeps the bytes of authcube's files: immutable blobs named by engine-generated
// UIDs. A caller's file name is metadata kept elsewhere, never a path here.
//
// The [Store] interface is outside authcube's compatibility promise: it may change in any
// release. [Dir] is the filesystem implementation authcube uses (under Dir/blobs).
//
// A UID is a file's read capability, so errors from this package never carry one: they name the
// operation and the cause only.
package blob

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrNotFound is returned by [Store.Open] when no blob has the UID.
var ErrNotFound = errors.New("blob: not found")

// ErrTooLarge is returned by [Store.Put] when the bytes exceed its limit; nothing is kept.
var ErrTooLarge = errors.New("blob: too large")

// ErrInvalidUID is returned by every method given a string [ValidUID] refuses: one this package
// could not have made. Nothing is read, written or looked up.
var ErrInvalidUID = errors.New("blob: invalid uid")

// UIDLen is the length of a UID: 32 lowercase hex characters, 128 random bits.
const UIDLen = 32

// ValidUID reports whether s has the form of a blob UID: exactly [UIDLen] lowercase hex
// characters. Paths, "../x", absolute paths, NUL, upper case and other lengths are all refused,
// so a UID is always one plain file name.
func ValidUID(s string) bool {
	if len(s) != UIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// NewUID returns a fresh UID made of 16 bytes read from rand, which must be a cryptographically
// secure source (crypto/rand.Reader, or the engine's Config.Rand): the UID is a read capability.
// It returns an error only when rand fails.
func NewUID(rand io.Reader) (string, error) {
	var b [UIDLen / 2]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("blob: new uid: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Store keeps immutable blobs by UID. Implementations are safe for concurrent use. Every method
// returns [ErrInvalidUID] for a UID [ValidUID] refuses, and ctx's error (wrapped) when ctx is
// done before the work is.
type Store interface {
	// Put stores the bytes of r under uid, reading at most max+1 bytes from r: more than max is
	// ErrTooLarge, and nothing is kept. It returns the size and the first up-to-512 bytes (for
	// content sniffing). The blob is durable when Put returns nil. A uid that exists already is
	// an error matching fs.ErrExist, and the existing blob is untouched (blobs are immutable).
	// ctx is checked between reads; a Read that blocks is not interrupted.
	Put(ctx context.Context, uid string, r io.Reader, max int64) (size int64, head []byte, err error)

	// Open returns the blob for reading and seeking, with its size, or ErrNotFound. The caller
	// closes it.
	Open(ctx context.Context, uid string) (io.ReadSeekCloser, int64, error)

	// Delete removes the blob. Deleting a missing blob is not an error.
	Delete(ctx context.Context, uid string) error

	// List calls fn once for every stored UID, in no particular order, for garbage collection.
	// It stops at fn's first error and returns it unchanged. Blobs stored or deleted while List
	// runs may or may not be seen; fn may call Delete.
	List(ctx context.Context, fn func(uid string) error) error

	// Close releases the store. Methods called after Close return errors.
	Close() error
}

// Linker is the optional ability of a [Store] whose blobs are files: authcube's Backup finds it
// by type assertion and copies the bytes with it. A store without it (blob/s3) keeps the bytes
// outside the backup.
type Linker interface {
	// Link makes a hard link (or a copy where links are impossible) of every blob into dir, for
	// backups; blobs are immutable, so links are safe. dir is created and must not exist or be
	// empty (else an error matching fs.ErrExist). Blobs deleted while Link runs are left out.
	Link(ctx context.Context, dir string) error
}

// Uploads is the optional ability of a [Store] whose unfinished writes outlive the process that
// started them (S3 multipart uploads a crashed process never completed or aborted): they are
// invisible to Open and List but kept, and paid for, until aborted. authcube's collector finds
// it by type assertion and aborts the unfinished uploads of every UID whose file is no longer
// pending in the shared metadata, so instances sharing a store never abort each other's
// uploads in progress.
type Uploads interface {
	// ListUploads calls fn once for every UID with an unfinished upload (a UID may come more
	// than once), in no particular order. It stops at fn's first error and returns it
	// unchanged; fn may call AbortUploads.
	ListUploads(ctx context.Context, fn func(uid string) error) error
	// AbortUploads aborts every unfinished upload of uid, a Put still running included (that
	// Put then fails and keeps nothing). Aborting none is not an error.
	AbortUploads(ctx context.Context, uid string) error
}

// GatedPutter is the optional ability of a [Store] to start storing a blob before its caller is
// ready for the blob to exist. authcube's UploadFile finds it by type assertion and commits the
// file's pending record while the bytes travel instead of before, for stores whose writes take
// a round trip (blob/s3): the collector deletes any blob without a record, so the blob must not
// be visible before the record is committed.
type GatedPutter interface {
	// PutGated is Put, except that the blob becomes visible (to Open, List, [Uploads] and any
	// other process on the same backing) only after ready has returned nil. ready is called at
	// most once, and always before PutGated returns nil; PutGated may fail before calling it.
	// When ready returns an error, PutGated returns that error unchanged and keeps nothing.
	PutGated(ctx context.Context, uid string, r io.Reader, max int64, ready func() error) (size int64, head []byte, err error)
}

// Presigner is the optional ability of the reader a [Store]'s Open returns when the store can
// hand out URLs that read the blob directly from it (blob/s3: a presigned GET), so the bytes
// need not pass through the application.
type Presigner interface {
	// PresignGet returns a URL that reads the blob with a plain GET until ttl has passed. The
	// response carries the given Content-Type, Content-Disposition and Cache-Control ("" leaves
	// a header as the store sends it). The URL is a bearer capability for ttl: hand it only to
	// a client allowed to read the blob.
	PresignGet(ctx context.Context, ttl time.Duration, contentType, disposition, cacheControl string) (string, error)
}

var (
	_ Store  = (*Dir)(nil)
	_ Linker = (*Dir)(nil)
)

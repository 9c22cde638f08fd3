// Package store defines what authcube needs from its persistent storage: one method per logical
// operation, each one transaction, with record types that carry what the public API must never
// show (password hashes, token hashes).
//
// [Store] is the composition of role interfaces, one per kind of record: [Sessions], [Users],
// [Queries], [Identities], [ResetTokens], [Files] and [Throttles]. Code that needs one role can
// take just that role. Abilities that not every backend has are separate interfaces that
// callers find by type assertion, as database/sql/driver does: [Backuper] (a consistent copy),
// [Exclusive] (no one else changes the data), [Notifier] (session changes are published to
// every client of the data) and [Secrets] (secrets shared by every client of the data).
//
// Two backends pass the conformance suite in CI: store/sqlite, the default, and store/postgres,
// for several instances on one PostgreSQL database; store/storetest is the suite every
// implementation must pass. The interfaces are therefore part of authcube's compatibility
// promise: an existing method keeps its signature and meaning, and what a new feature needs
// from storage arrives as a new optional ability, found by type assertion, so that a backend
// written against this package keeps compiling and keeps working (the feature reports that its
// store lacks the ability).
//
// Times are passed in by the caller (the store never reads a clock) and kept to the millisecond.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when the record an operation names does not exist. Look-ups that may
// legitimately find nothing say so in their comment.
var ErrNotFound = errors.New("store: not found")

// ErrInvalidAvatar is returned by UpdateUser when the avatar UID is not a complete file of the
// user.
var ErrInvalidAvatar = errors.New("store: avatar is not a complete file of the user")

// ErrRevoked is returned by Session for a token hash whose session was revoked (see
// DeleteSession) and whose tombstone the sweeper has not yet deleted: unlike ErrNotFound (never
// existed, expired), it tells the caller not to renew the session (S33).
var ErrRevoked = errors.New("store: session revoked")

// ErrStale is returned when a compare-and-swap finds the record changed since it was read (a
// concurrent password change, say).
var ErrStale = errors.New("store: changed concurrently")

// ConflictError is returned when a write would break a uniqueness rule. Field names the column
// that collided ("login", "email").
type ConflictError struct {
	Field string
}

func (e *ConflictError) Error() string { return "store: " + e.Field + " already taken" }

// Session is a stored session. The token itself is never stored, only its SHA-256.
type Session struct {
	TokenHash     [32]byte
	ID            string // UUID, not secret
	AppID         int64
	UserID        int64     // 0 for an application session
	Provider      string    // how the user signed in ("password", ...); "" for an application session
	CreatedAt     time.Time //
	SignedInAt    time.Time // zero for an application session
	LastRequestAt time.Time
}

// File is a stored file's metadata; its bytes live in a blob.Store under UID.
type File struct {
	ID          int64
	UID         string
	OwnerID     int64
	Name        string
	ContentType string
	Size        int64
	Public      bool
	Complete    bool
	CreatedAt   time.Time
}

// ResetToken is a stored password-reset token; only its hash is kept.
type ResetToken struct {
	TokenHash  [32]byte
	UserID     int64
	EmailCanon string // the address it was sent to
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Activity is a request recorded in memory and written back later.
type Activity struct {
	TokenHash [32]byte
	UserID    int64 // 0 when unknown or an application session
	At        time.Time
}

// User is a stored user. LoginCanon and EmailCanon are the canonical forms that uniqueness and
// look-ups use; they are "" when the user has no login or no email.
type User struct {
	ID            int64
	Login         string
	LoginCanon    string
	Email         string
	EmailCanon    string
	PasswordHash  string // PHC string; "" when the user has no password
	FullName      string
	Phone         string
	Website       string
	ExternalID    string
	Tags          []string
	CustomData    string
	AvatarUID     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	LastRequestAt time.Time
	// Disabled users sign in nowhere; a store without the [Admin] ability never has one.
	Disabled bool
	// EmailVerifiedAt is when the current email was verified (a mailed link or code, or a
	// provider that verified it); zero when it was not. Changing the email clears it (S40).
	EmailVerifiedAt time.Time
}

// Store is authcube's persistent state: every role an engine needs, and Close. Its rules hold for
// every role:
//   - Implementations are safe for concurrent use by many goroutines.
//   - Every method is durable when it returns nil (a revocation that returned survives a crash),
//     and is one transaction: all or nothing.
//   - A method never returns a driver's own error values for "not found" or "conflict": it
//     returns ErrNotFound, *ConflictError, ErrStale or ErrInvalidAvatar as its comment says.
//     Which absence is ErrNotFound and which is an empty answer is said per role and per method.
//   - ctx is honoured: a call whose ctx ends either fails and changes nothing, or returns nil
//     and its change is stored.
//
// A Store may have optional abilities, found by type assertion: [Backuper], [Exclusive],
// [Notifier] and [Secrets].
type Store interface {
	Sessions
	Users
	Queries
	Identities
	ResetTokens
	Files
	Throttles

	// Close releases the store. Calls after Close fail.
	Close() error
}

// Sessions stores sessions by the SHA-256 of their token. It is safe for concurrent use. A
// session that does not exist is ErrNotFound, except where a method says otherwise:
// ExpireSession reports false, RecordActivity skips it, and a list is empty.
type Sessions interface {
	// CreateSession inserts s. A token hash that exists already is an error. Ids are random
	// UUIDs, unique by construction; the store need not check them. When s.UserID is set and
	// verifiedHash is not "", the insert happens only while the user's password hash is still
	// verifiedHash (ErrNotFound otherwise): a sign-in whose password check raced a password
	// change or reset never yields a session.
	CreateSession(ctx context.Context, s Session, verifiedHash string) error
	// Session returns the session with the token hash; ErrRevoked when it was revoked,
	// ErrNotFound when it never existed or expired.
	Session(ctx context.Context, tokenHash [32]byte) (Session, error)
	// TouchSession records a request at `at`: the session's last request becomes the later of
	// the stored one and `at` (never earlier), and so does its user's. ErrNotFound when the
	// session does not exist.
	TouchSession(ctx context.Context, tokenHash [32]byte, at time.Time) error
	// SignInSession makes the session act for userID from `at` (signed in and last request at
	// `at`). ErrNotFound when the session or the user does not exist, or when verifiedHash is
	// not "" and the user's password hash is no longer verifiedHash (see CreateSession).
	SignInSession(ctx context.Context, tokenHash [32]byte, userID int64, provider, verifiedHash string, at time.Time) error
	// SignOutSession turns the session back into an application session, its last request at
	// `at`. ErrNotFound when the session does not exist.
	SignOutSession(ctx context.Context, tokenHash [32]byte, at time.Time) error
	// DeleteSession revokes the session. ErrNotFound when it does not exist. Every revocation
	// (DeleteSession, DeleteUserSession, the sessions a password change, a reset or a user's
	// deletion ends) leaves a tombstone of the token hash in the same transaction, so Session
	// answers ErrRevoked for it until DeleteExpiredSessions finds its absolute lifetime over.
	// Expiry (ExpireSession, DeleteExpiredSessions) leaves none.
	DeleteSession(ctx context.Context, tokenHash [32]byte) error
	// ExpireSession removes the session only if its stored last request is not after
	// lastRequest (so a request recorded meanwhile wins). It reports whether a row was removed.
	ExpireSession(ctx context.Context, tokenHash [32]byte, lastRequest time.Time) (bool, error)
	// RecordActivity writes buffered activity: each session's last request, and its user's,
	// becomes the later of the stored one and At. Sessions that no longer exist are skipped.
	RecordActivity(ctx context.Context, acts []Activity) error
	// UserSessions returns the sessions acting for the user, oldest first.
	UserSessions(ctx context.Context, userID int64) ([]Session, error)
	// DeleteUserSession deletes the session with the id if it acts for the user and returns its
	// token hash; ErrNotFound otherwise.
	DeleteUserSession(ctx context.Context, userID int64, sessionID string) ([32]byte, error)
	// DeleteOtherUserSessions revokes every session acting for the user except the one with
	// the token hash keep, in one transaction, leaving their tombstones (see DeleteSession), and
	// returns their ids and token hashes (in the same order). ErrNotFound, with nothing deleted,
	// when the session keep does not act for the user.
	DeleteOtherUserSessions(ctx context.Context, userID int64, keep [32]byte) ([]string, [][32]byte, error)
	// DeleteExpiredSessions deletes the sessions whose last request is before idleBefore, and
	// those started (signed in, or created for application sessions) before startedBefore, and
	// the tombstones of revoked sessions started before startedBefore. It returns how many
	// sessions it deleted.
	DeleteExpiredSessions(ctx context.Context, idleBefore, startedBefore time.Time) (int, error)
}

// Users stores users and finds them by id and by their unique canonical login and email. It is
// safe for concurrent use. A user that does not exist is ErrNotFound; a write that would take a
// canonical login or email another user has is a *ConflictError naming the field.
type Users interface {
	// CreateUser inserts u (u.ID is ignored) with its tags and returns its new id, never one
	// used before. A taken canonical login or email is a *ConflictError naming the field.
	CreateUser(ctx context.Context, u User) (int64, error)
	// User returns the user with the id, or ErrNotFound.
	User(ctx context.Context, id int64) (User, error)
	// UserByLogin returns the user whose canonical login is loginCanon, or ErrNotFound.
	UserByLogin(ctx context.Context, loginCanon string) (User, error)
	// UserByEmail returns the user whose canonical email is emailCanon, or ErrNotFound.
	UserByEmail(ctx context.Context, emailCanon string) (User, error)
	// UpdateUser applies c to one user in one transaction, all or nothing, and returns the user as
	// updated. A change of email or password voids the user's pending reset tokens. A new
	// AvatarUID must be a complete file of the user (else ErrInvalidAvatar); the file it
	// replaces, or clears, is deleted with it (its bytes become unreferenced). It fails with ErrNotFound when the session c.SessionHash no longer acts for
	// c.UserID (a write validated earlier must not commit after a revocation), with ErrStale when
	// c.PasswordHash is set and the stored hash is no longer c.OldPasswordHash, and with a
	// *ConflictError when a new login or email is taken. A password change deletes the user's
	// other sessions in the same transaction and reports their token hashes.
	UpdateUser(ctx context.Context, c UserChange) (User, [][32]byte, error)
	// DeleteUser deletes the user that the session sessionHash acts for, with its sessions and
	// tags, and reports the token hashes of the sessions deleted. ErrNotFound when the session no
	// longer acts for userID.
	DeleteUser(ctx context.Context, sessionHash [32]byte, userID int64) ([][32]byte, error)
	// SetPasswordHash replaces the user's password hash if it is still old (compare-and-swap):
	// ErrStale when it changed meanwhile, ErrNotFound when the user is gone.
	SetPasswordHash(ctx context.Context, userID int64, old, new string) error
}

// Queries finds users by fields that are not unique (phone, external id) and runs the REST
// queries (filters, sorts, keyset pages, totals). It is safe for concurrent use. A look-up that
// finds nobody is ErrNotFound; a query that selects nobody is an empty page, not an error.
type Queries interface {
	// UserByPhone returns the oldest user with the phone (normal form), with or without its
	// leading "+" (a number typed once with and once without it is the same number), or
	// ErrNotFound.
	UserByPhone(ctx context.Context, phone string) (User, error)
	// UserByExternalID returns the oldest user with the external id, or ErrNotFound.
	UserByExternalID(ctx context.Context, externalID string) (User, error)
	// QueryUsers returns the users q selects, in its order, and their total (see Query.Total).
	// The users it returns carry no PasswordHash, and LoginCanon and EmailCanon only when q sorts
	// by login or email.
	// A query the store cannot build (a field or operator outside its allowlists) is an error.
	QueryUsers(ctx context.Context, q Query) ([]User, int, error)
}

// Identities links users to the subjects of external identity providers. It is safe for
// concurrent use. An identity or user that does not exist is ErrNotFound; an identity that
// exists already is a *ConflictError with Field "identity".
type Identities interface {
	// UserByIdentity returns the user of (provider, subject), or ErrNotFound.
	UserByIdentity(ctx context.Context, provider, subject string) (User, error)
	// IdentitySubject returns the subject the user has at provider, or ErrNotFound when the user
	// did not come from it.
	IdentitySubject(ctx context.Context, userID int64, provider string) (string, error)
	// CreateIdentityUser inserts u (u.ID is ignored) with the identity (provider, subject) in one
	// transaction and returns its id. A taken login or email is a *ConflictError naming it; an
	// identity that exists already is a *ConflictError with Field "identity".
	CreateIdentityUser(ctx context.Context, provider, subject string, u User) (int64, error)
	// RefreshUserName sets the user's full name from its provider's profile; nothing happens
	// when it is unchanged. ErrNotFound when the user is gone.
	RefreshUserName(ctx context.Context, userID int64, fullName string, at time.Time) error
}

// ResetTokens stores password-reset tokens by their SHA-256. It is safe for concurrent use. A
// token that is not pending (unknown, used, expired, or issued to an email the user no longer
// has) is ErrNotFound, and so is a user that does not exist.
type ResetTokens interface {
	// CreateResetToken stores a password-reset token and voids the user's other pending ones.
	// ErrNotFound when the user is gone.
	CreateResetToken(ctx context.Context, t ResetToken) error
	// ResetToken returns the pending reset token with the hash: not used, not expired at now,
	// and issued to the user's current email. ErrNotFound otherwise.
	ResetToken(ctx context.Context, tokenHash [32]byte, now time.Time) (ResetToken, error)
	// ConsumeResetToken uses the token in one transaction: it marks it used with a conditional
	// update (so of concurrent callers exactly one succeeds), sets the user's password hash,
	// deletes every session of the user (returning their hashes) and voids the user's other
	// reset tokens. ErrNotFound when the token is not pending (see ResetToken).
	ConsumeResetToken(ctx context.Context, tokenHash [32]byte, now time.Time, passwordHash string) (userID int64, revoked [][32]byte, err error)
	// DeleteStaleResetTokens deletes used tokens and those expired before now.
	DeleteStaleResetTokens(ctx context.Context, now time.Time) (int, error)
}

// LazyFiles is an optional ability of a Store, found by type assertion: creating a pending file
// without waiting for the disk. authcube's UploadFile uses it for the record it commits while
// the bytes travel to a blob store with blob.GatedPutter, since the completion it commits next is
// durable and makes the record durable with it.
type LazyFiles interface {
	// CreateFileLazily is CreateFile, except that it may return once the row is committed
	// (visible to every reader of the store, in this process and in others) but before it is
	// durable. Any later durable commit of the store makes it durable too (the store's log is
	// written in commit order); until then a crash may lose it.
	CreateFileLazily(ctx context.Context, sessionHash [32]byte, f File) (int64, error)
}

// Files stores the metadata of users' files; their bytes live in a blob.Store. It is safe for
// concurrent use. A file that does not exist, or is not the named owner's, is ErrNotFound, and
// so is every write whose session no longer acts for the owner; FileExists reports false and a
// list is empty instead.
type Files interface {
	// CreateFile inserts a pending file for f.OwnerID, if the session sessionHash still acts for
	// that user (else ErrNotFound), and returns its id, never one used before.
	CreateFile(ctx context.Context, sessionHash [32]byte, f File) (int64, error)
	// CompleteFile marks the owner's pending file uid complete with its size and content type and
	// returns it; ErrNotFound when there is no such pending file, or when the session
	// sessionHash no longer acts for the owner (as for every file write below).
	CompleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID, size int64, contentType string) (File, error)
	// File returns the file with the uid, pending or complete, or ErrNotFound.
	File(ctx context.Context, uid string) (File, error)
	// FileByID returns the file with the id, or ErrNotFound.
	FileByID(ctx context.Context, id int64) (File, error)
	// UserFiles returns the owner's files by id, after afterID, skipping offset, at most limit,
	// and their total counted up to totalCap.
	UserFiles(ctx context.Context, ownerID, afterID int64, offset, limit, totalCap int) ([]File, int, error)
	// RenameFile renames the owner's file; ErrNotFound when the owner has no file with the uid.
	RenameFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64, name string) (File, error)
	// DeleteFile deletes the owner's file row (and clears it as the owner's avatar); ErrNotFound
	// when the owner has no file with the uid. The caller deletes the bytes.
	DeleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64) error
	// DeletePendingFiles deletes files still pending that were created before `before` and
	// returns their uids.
	DeletePendingFiles(ctx context.Context, before time.Time) ([]string, error)
	// FileExists reports whether a file row with the uid exists (for collecting unreferenced
	// bytes).
	FileExists(ctx context.Context, uid string) (bool, error)
}

// Throttles stores the sign-in back-off state by key. It is safe for concurrent use. A key never
// stored is not an error: it has no failures and refuses nothing.
type Throttles interface {
	// Throttle returns the stored failure count for key and the time before which attempts are
	// refused; a key never stored gives 0 and the zero time. Keys are 64 hex digits (a SHA-256
	// digest of what is throttled), whatever the size of the input (S30).
	Throttle(ctx context.Context, key string) (failures int, until time.Time, err error)
	// SetThrottle stores the state of key; failures 0 deletes it.
	SetThrottle(ctx context.Context, key string, failures int, until time.Time) error
	// DeleteStaleThrottles deletes the keys whose refusal ended before `before`.
	DeleteStaleThrottles(ctx context.Context, before time.Time) (int, error)
	// AddThrottleFailure counts one failure for key at `at` atomically (one transaction that
	// reads and writes the key, so concurrent callers on any number of clients of the data
	// each count once) and returns the new state, as [ThrottleRule.Next] computes it from the
	// stored one. Engines that share a store count failures with it, so that the free failures
	// are shared by all of them rather than granted per engine.
	AddThrottleFailure(ctx context.Context, key string, at time.Time, r ThrottleRule) (failures int, until time.Time, err error)
}

// ThrottleRule is the back-off that AddThrottleFailure applies.
type ThrottleRule struct {
	Free      int           // failures before attempts are refused
	Base, Max time.Duration // the first refusal, doubling with each failure after, at most Max
	// ForgetBefore: a stored state whose until is before it is forgotten, and the failure
	// counts as the first.
	ForgetBefore time.Time
}

// Next returns the state after one more failure at `at`, given the stored failures and until
// (0 and the zero time for a key never stored): failures+1 (1 when until is before
// r.ForgetBefore), and until `at` while failures stay below Free, else at + Base × 2^(failures-Free),
// at most Max. An until already later than that is kept.
func (r ThrottleRule) Next(failures int, until, at time.Time) (int, time.Time) {
	if !until.IsZero() && until.Before(r.ForgetBefore) {
		failures = 0
	}
	failures++
	next := at
	if over := failures - r.Free; over >= 0 {
		delay := r.Max
		if over < 32 && r.Base<<over > 0 && r.Base<<over < r.Max {
			delay = r.Base << over
		}
		next = at.Add(delay)
	}
	if until.After(next) {
		next = until
	}
	return failures, next
}

// Backuper is an optional ability of a Store: it writes a consistent copy of its data to a new
// file. authcube's Engine.Backup finds it by type assertion and fails without it.
type Backuper interface {
	// BackupTo writes a consistent copy of the data to path, which must not exist, and syncs
	// it. It runs beside other calls; the copy holds every transaction committed before it
	// started. It is safe for concurrent use.
	BackupTo(ctx context.Context, path string) error
}

// BulkImporter is an optional ability of a Store: it can stop keeping some indexes and
// derived data up to date row by row while a large import of users runs, and rebuild them once
// at its end, which is much faster for many users. authcube's Admin.ImportUsers finds it by
// type assertion and goes without it.
//
// While the upkeep is deferred, the users are whole and unique (ids, canonical logins and
// emails stay checked at every insert), but what the store derives from them (for SQLite:
// full-name search, the user and tag counts, the secondary indexes) may miss users until
// EndBulk. The deferred state is durable: a store opened after an import that never reached
// EndBulk (a crash, a kill) rebuilds everything as EndBulk does before Open returns.
type BulkImporter interface {
	// BeginBulk defers the upkeep, and reports whether it is deferred: true at once when it
	// already was; false, doing nothing, when ifEmpty and the store has users.
	BeginBulk(ctx context.Context, ifEmpty bool) (bool, error)
	// EndBulk rebuilds what BeginBulk deferred, in one transaction, and resumes the upkeep.
	// Without a BeginBulk it does nothing.
	EndBulk(ctx context.Context) error
}

// Exclusive is an optional ability of a Store: it reports whether this Store value is the only
// writer of its data while it is open (no other process, and no other Store value in this
// process, changes it), as for an embedded database in a locked directory. An engine keeps
// sessions in memory only over a store that is exclusive or a [Notifier]: otherwise a session
// revoked through another client would stay usable from its memory.
type Exclusive interface {
	// Exclusive reports whether no one else changes the data. It is safe for concurrent use,
	// and its answer does not change while the store is open.
	Exclusive() bool
}

// SessionEvent is a change to sessions that some client of a shared store committed.
type SessionEvent struct {
	// TokenHashes are the sessions that ended or now act for another user: destroyed, revoked,
	// expired, signed in or out, and those of a user whose password changed or was reset, or
	// who was deleted. A copy of any of them kept in memory must be dropped.
	TokenHashes [][32]byte
	// Lost reports that events may have been missed since the previous one (the subscription's
	// connection was lost, say); TokenHashes is then empty. A subscriber must drop every
	// session it keeps and must not answer from memory until the next event with Lost false,
	// which the store delivers (with no token hashes, if none) as soon as the subscription
	// is live again.
	Lost bool
}

// Notifier is an optional ability of a Store that several engines share (one database behind
// several instances): it publishes every session change any of them commits, so that each may
// keep sessions in memory and drop them when they change elsewhere. An engine keeps sessions in
// memory only over a store that is [Exclusive] or a Notifier.
type Notifier interface {
	// SubscribeSessions calls f with every SessionEvent committed through any client of the
	// data, this Store included, from the moment it returns nil until ctx ends. f is called
	// from one goroutine at a time, after the change has committed, and must not block for
	// long. A subscription that cannot be started is an error; a subscription lost later is
	// reported to f with Lost and resumed by the store. It is safe for concurrent use.
	SubscribeSessions(ctx context.Context, f func(SessionEvent)) error
}

// Secrets is an optional ability of a Store that several engines share: it keeps small secrets
// that all of them must agree on, such as the key that signs device tokens, so that what one
// engine signs another accepts. An engine without a directory of its own finds it by type
// assertion; without it, such secrets live in the engine's memory only.
type Secrets interface {
	// Secret returns the secret stored under name, first storing candidate under it when there
	// is none: of concurrent callers, on any number of clients of the data, all get the value
	// that was stored first. It is safe for concurrent use.
	Secret(ctx context.Context, name string, candidate []byte) ([]byte, error)
}

// PasskeyProvider is the identity provider under which a store links a user with passkeys:
// the identity (PasskeyProvider, the user's id in decimal) exists while the user has at least
// one passkey, so a passkey sign-in finds its user as any provider's does.
const PasskeyProvider = "passkey"

// Passkey is a WebAuthn credential of a user, keyed by its credential id (unique).
type Passkey struct {
	ID         []byte // the credential id
	UserID     int64
	Name       string
	Credential []byte // the credential as package passkey encodes it (public key, flags, transports)
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// PasskeyChallenge is a pending WebAuthn ceremony: single use, until ExpiresAt.
type PasskeyChallenge struct {
	ID        string // the challenge, base64url
	UserID    int64  // the user registering or signing in; 0 for a discoverable sign-in
	Kind      string // "register" or "login"
	Data      []byte // the ceremony's session data
	ExpiresAt time.Time
}

// Passkeys is an optional ability of a Store: WebAuthn credentials and pending ceremonies
// (S42). Package passkey finds it by type assertion. It is safe for concurrent use.
type Passkeys interface {
	// CreatePasskeyChallenge stores c, and drops the challenges that expired before now. A
	// challenge id that exists already is a *ConflictError with Field "challenge".
	CreatePasskeyChallenge(ctx context.Context, c PasskeyChallenge, now time.Time) error
	// TakePasskeyChallenge deletes the challenge id and returns it: ErrNotFound when it is
	// unknown, taken already or expired at now. Of concurrent takers one gets it.
	TakePasskeyChallenge(ctx context.Context, id string, now time.Time) (PasskeyChallenge, error)
	// CreatePasskey stores p and links the user's PasskeyProvider identity. A credential id
	// that exists already is a *ConflictError with Field "passkey"; a user that does not exist
	// is ErrNotFound.
	CreatePasskey(ctx context.Context, p Passkey) error
	// Passkey returns the passkey of a credential id, or ErrNotFound.
	Passkey(ctx context.Context, id []byte) (Passkey, error)
	// UserPasskeys returns the user's passkeys, oldest first (none is an empty answer).
	UserPasskeys(ctx context.Context, userID int64) ([]Passkey, error)
	// RenamePasskey renames the user's passkey id; ErrNotFound when the user has no such one.
	RenamePasskey(ctx context.Context, userID int64, id []byte, name string) error
	// DeletePasskey deletes the user's passkey id, and the user's PasskeyProvider identity
	// with the last one; ErrNotFound when the user has no such one.
	DeletePasskey(ctx context.Context, userID int64, id []byte) error
	// UsePasskey records a sign-in with passkey id: the sign count becomes newCount, the
	// credential data credential and the last use at, only when the stored count is still
	// oldCount (ErrStale otherwise: another sign-in with the same count won, as a clone's
	// would); ErrNotFound when it is gone.
	UsePasskey(ctx context.Context, id []byte, oldCount, newCount uint32, credential []byte, at time.Time) error
}

// Identity is one link of a user to an identity provider's subject.
type Identity struct {
	Provider  string
	Subject   string
	CreatedAt time.Time
}

// Linker is an optional ability of a Store: linking a user's further identities (S43). It is
// safe for concurrent use.
type Linker interface {
	// LinkIdentity links (provider, subject) to the user: a *ConflictError with Field
	// "identity" when that identity exists already (for this user or another), ErrNotFound
	// when the user does not exist.
	LinkIdentity(ctx context.Context, userID int64, provider, subject string, at time.Time) error
	// UnlinkIdentity removes the user's identity at provider; ErrNotFound when there is none.
	UnlinkIdentity(ctx context.Context, userID int64, provider string) error
	// UserIdentities returns the user's identities by provider (none is an empty answer).
	UserIdentities(ctx context.Context, userID int64) ([]Identity, error)
}

// UserChange is what UpdateUser changes: the fields that are not nil. Login and LoginCanon (and
// Email and EmailCanon) change together; "" clears them.
type UserChange struct {
	UserID      int64
	SessionHash [32]byte // the session making the change; it must still act for UserID

	Login, LoginCanon, Email, EmailCanon                        *string
	FullName, Phone, Website, ExternalID, CustomData, AvatarUID *string
	Tags                                                        *[]string
	PasswordHash                                                *string
	OldPasswordHash                                             string // with PasswordHash: the hash it replaces
	UpdatedAt                                                   time.Time
}

// The fields a Query may filter and sort on: the REST names of authcube's user fields.
const (
	FieldID            = "id"
	FieldLogin         = "login"
	FieldEmail         = "email"
	FieldFullName      = "full_name"
	FieldPhone         = "phone"
	FieldWebsite       = "website"
	FieldExternalID    = "external_id"
	FieldTags          = "user_tags"
	FieldCreatedAt     = "created_at"
	FieldUpdatedAt     = "updated_at"
	FieldLastRequestAt = "last_request_at"
)

// The operators of a Cond.
const (
	OpEq         = "eq"
	OpNe         = "ne"
	OpLt         = "lt"
	OpLte        = "lte"
	OpGt         = "gt"
	OpGte        = "gte"
	OpIn         = "in"
	OpNin        = "nin"
	OpAll        = "all"
	OpContains   = "ctn"
	OpStartsWith = "start_with"
)

// Query selects users. The caller has validated and normalised it: values are int64 for id,
// time.Time for the *_at fields, and strings in canonical form otherwise (canonical login and
// email, phone normal form, folded tags). The store checks fields and operators against its own
// allowlists again and never puts a value into SQL text.
type Query struct {
	Conds  []Cond // all must hold
	Sort   string // a Field; "" means FieldID
	Desc   bool
	Limit  int  // at most this many users
	Offset int  // skipped first
	After  *Key // when set, only users strictly after this position in the sort order
	// TotalCap > 0 asks for the total: exact from maintained counters for no condition or one
	// tag, otherwise counted up to TotalCap.
	TotalCap int
}

// Cond is one condition of a Query.
type Cond struct {
	Field  string
	Op     string
	Values []any
}

// Key is a position in a sort order: the sort field's value and the id that breaks ties.
// Value is int64 for id and the *_at fields (Unix milliseconds), string otherwise.
type Key struct {
	Value any
	ID    int64
}

// Admin is an optional ability of a Store: the trusted operations of authcube's Admin handle,
// which act for no session, and bulk import. It is safe for concurrent use. A user that does
// not exist is ErrNotFound.
type Admin interface {
	// AdminUpdateUser applies c as UpdateUser does, without a session (c.SessionHash is
	// ignored) and without a compare-and-swap of the password (c.OldPasswordHash is ignored): a
	// password change ends every session of the user and reports their token hashes.
	AdminUpdateUser(ctx context.Context, c UserChange) (User, [][32]byte, error)
	// AdminDeleteUser deletes the user with its sessions, tags and files' rows, and reports the
	// token hashes of the sessions deleted.
	AdminDeleteUser(ctx context.Context, userID int64) ([][32]byte, error)
	// SetUserDisabled disables or enables the user, its UpdatedAt becoming at. Disabling revokes
	// every session of the user in the same transaction (they leave tombstones, as
	// DeleteSession's) and reports their token hashes. While a user is disabled, CreateSession
	// and SignInSession for it fail with ErrNotFound.
	SetUserDisabled(ctx context.Context, userID int64, disabled bool, at time.Time) ([][32]byte, error)
	// RevokeUserSessions revokes every session of the user (tombstones included) and reports
	// their token hashes; none is not an error.
	RevokeUserSessions(ctx context.Context, userID int64) ([][32]byte, error)
	// AllUsers returns at most limit users with ids above afterID, in id order, with every field
	// (PasswordHash, canonical forms, Disabled).
	AllUsers(ctx context.Context, afterID int64, limit int) ([]User, error)
	// Counts counts users, live sessions (last request at or after idleSince and started at or
	// after startedSince) and complete files.
	Counts(ctx context.Context, idleSince, startedSince time.Time) (Counts, error)
	// InsertUsers inserts users in one transaction, in order, each with its tags, and reports
	// one ImportResult per user it looked at. A user whose ID is not 0 keeps it. A user already
	// there is not inserted again (ImportExisting): one with the same canonical login and email
	// and either the same id, or (when u.ID is 0) the same password hash or CreatedAt, as a
	// rerun of an import finds the users it made. A user
	// whose id, login or email another user has is not inserted (ImportConflict, with Field
	// "id", "login" or "email"); with stopAtConflict the call then stops, reporting results up
	// to and including that user, and commits what it inserted before it.
	InsertUsers(ctx context.Context, users []User, stopAtConflict bool) ([]ImportResult, error)
}

// Counts are what Admin.Counts reports.
type Counts struct {
	Users         int64
	DisabledUsers int64
	Sessions      int64 // live sessions, user and application
	UserSessions  int64 // live sessions acting for a user
	Files         int64 // complete files
	FileBytes     int64 // their total size
}

// ImportStatus is what InsertUsers did with one user.
type ImportStatus int

// The statuses of an ImportResult.
const (
	ImportInserted ImportStatus = iota + 1 // inserted; ImportResult.ID is its id
	ImportExisting                         // already there; ImportResult.ID is its id
	ImportConflict                         // not inserted: ImportResult.Field is taken by another user
)

// ImportResult is what InsertUsers did with one user.
type ImportResult struct {
	Status ImportStatus
	ID     int64
	Field  string // with ImportConflict: "id", "login" or "email"
}

// TOTP is a user's TOTP enrolment (S38). Secret is sealed by the engine (AES-GCM): the store
// never holds it in clear.
type TOTP struct {
	UserID    int64
	Secret    []byte
	Confirmed bool      // false while the enrolment waits for its first code
	LastStep  int64     // the last time step whose code was accepted: codes of it and earlier are refused
	CreatedAt time.Time //
}

// Challenge is a pending second-factor challenge (S39): a sign-in whose first factor passed,
// waiting for a TOTP or recovery code. Only the SHA-256 of its value is stored.
type Challenge struct {
	Hash         [32]byte
	UserID       int64
	Provider     string    // the first factor ("password", a provider name)
	VerifiedHash string    // the password hash the first factor checked; "" for other providers
	ExpiresAt    time.Time //
}

// SecondFactors is an optional ability of a Store: TOTP enrolments, their recovery codes and
// second-factor challenges. An engine over a store without it offers no second factor. It is
// safe for concurrent use. A user that does not exist is ErrNotFound. Deleting a user deletes
// its enrolment, codes and challenges.
type SecondFactors interface {
	// TOTP returns the user's enrolment, pending or confirmed, or ErrNotFound.
	TOTP(ctx context.Context, userID int64) (TOTP, error)
	// PutTOTP stores t as the user's pending enrolment, replacing a pending one; ErrStale when
	// the user has a confirmed one, ErrNotFound when the user does not exist.
	PutTOTP(ctx context.Context, t TOTP) error
	// ConfirmTOTP confirms the user's pending enrolment, recording step as its last used time
	// step, and replaces the user's recovery codes with recovery (their SHA-256). ErrNotFound
	// when the user has no pending enrolment.
	ConfirmTOTP(ctx context.Context, userID, step int64, recovery [][32]byte) error
	// UseTOTPStep records step as the last used time step of the user's confirmed enrolment if
	// it is after the stored one (a conditional update: of concurrent callers with one step,
	// exactly one succeeds); ErrStale when it is not after, ErrNotFound when the user has no
	// confirmed enrolment.
	UseTOTPStep(ctx context.Context, userID, step int64) error
	// UseRecoveryCode deletes the user's recovery code with the hash; ErrNotFound when there is
	// none (of concurrent callers with one code, exactly one succeeds).
	UseRecoveryCode(ctx context.Context, userID int64, hash [32]byte) error
	// SetRecoveryCodes replaces the user's recovery codes; ErrNotFound when the user has no
	// confirmed enrolment.
	SetRecoveryCodes(ctx context.Context, userID int64, recovery [][32]byte) error
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
	// DeleteTOTP deletes the user's enrolment, pending or confirmed, with its recovery codes;
	// ErrNotFound when there is none.
	DeleteTOTP(ctx context.Context, userID int64) error
	// CreateChallenge stores c; ErrNotFound when the user does not exist.
	CreateChallenge(ctx context.Context, c Challenge) error
	// Challenge returns the challenge with the hash if it expires after now, or ErrNotFound.
	Challenge(ctx context.Context, hash [32]byte, now time.Time) (Challenge, error)
	// ConsumeChallenge deletes the challenge with the hash and returns it if it expires after
	// now, else ErrNotFound (of concurrent callers, exactly one succeeds).
	ConsumeChallenge(ctx context.Context, hash [32]byte, now time.Time) (Challenge, error)
	// DeleteExpiredChallenges deletes the challenges that expired at or before now.
	DeleteExpiredChallenges(ctx context.Context, now time.Time) (int, error)
}

// EmailCode is a one-time secret mailed to an address: an email verification link or a
// sign-in code. Only a digest of it is stored.
type EmailCode struct {
	Hash       [32]byte
	UserID     int64
	EmailCanon string // the address it was sent to: a code for another address is void
	Purpose    string // "verify", "signin"
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// EmailCodes is an optional ability of a Store: one-time secrets mailed to users' addresses
// (S40). It is safe for concurrent use. A user that does not exist is ErrNotFound.
type EmailCodes interface {
	// CreateEmailCode stores c and voids the user's other codes of its purpose; ErrNotFound
	// when the user does not exist.
	CreateEmailCode(ctx context.Context, c EmailCode) error
	// ConsumeEmailCode deletes the code with the hash and purpose and returns it, if it expires
	// after now and the user's email is still the one it was sent to (of concurrent callers
	// exactly one succeeds); in the same transaction the user's email becomes verified at now
	// (kept when it was already). ErrNotFound otherwise.
	ConsumeEmailCode(ctx context.Context, hash [32]byte, purpose string, now time.Time) (EmailCode, error)
	// MarkEmailVerified records the user's email as verified at `at` if it is still
	// emailCanon (kept when it was already); ErrNotFound otherwise.
	MarkEmailVerified(ctx context.Context, userID int64, emailCanon string, at time.Time) error
	// DeleteExpiredEmailCodes deletes the codes that expired at or before now.
	DeleteExpiredEmailCodes(ctx context.Context, now time.Time) (int, error)
}

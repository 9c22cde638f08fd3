package authcube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crypto/rand"

	"github.com/authcube/authcube/blob"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/internal/dirlock"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
)

// Defaults for the zero fields of [Config].
const (
	DefaultAppID          = 1
	DefaultSessionIdleTTL = 2 * time.Hour
	DefaultSessionMaxAge  = 30 * 24 * time.Hour
	DefaultPasswordMinLen = 8
	DefaultSessionCache   = 100_000
	// DefaultSessionCacheTTL is Config.SessionCacheTTL's default over a shared store.
	DefaultSessionCacheTTL = time.Minute

	// flushInterval is how often buffered session activity is written back; sweepInterval how
	// often expired sessions and stale throttle rows are deleted. The sweeper deletes idle
	// sessions only after a grace longer than the flush interval, so activity still in memory
	// always wins.
	flushInterval = time.Minute
	sweepInterval = 10 * time.Minute
	sweepGrace    = 2 * flushInterval
)

// Config configures an [Engine]. It is passed by value to [Open] and copied; nothing in it may
// change afterwards. Every zero field takes the default its comment names.
type Config struct {
	// Dir holds the engine's state: Dir/authcube.db (SQLite, WAL), Dir/LOCK and Dir/device.key
	// (the key that signs device tokens, S36). It is created (mode 0700) when missing. Required
	// unless Store is given.
	Dir string
	// AppID is reported in sessions; 0 means 1.
	AppID int64
	// SessionIdleTTL is the sliding expiry after a session's last request; 0 means 2h.
	SessionIdleTTL time.Duration
	// SessionMaxAge is a session's absolute lifetime, counted from sign-in for user sessions and
	// from creation for application sessions; 0 means 30 days.
	SessionMaxAge time.Duration
	// SessionCacheSize is how many live sessions are kept in memory, so that a request with a
	// live token costs no database access; 0 means 100,000. Activity of cached sessions is
	// written back at most once a minute and at Close: a crash may make a session expire up to a
	// minute early, never late. The cache is off with a custom Store unless that store is
	// exclusive (store.Exclusive reports true) or publishes session changes (store.Notifier).
	SessionCacheSize int
	// SessionCacheTTL is the last guard of the session cache over a store that several engines
	// share (a store.Notifier that is not store.Exclusive, such as store/postgres): a cached
	// session the store has not confirmed for this long is read from the store again before it
	// answers, so a revocation on another engine whose notification was lost unnoticed is
	// honoured at most this late (notifications normally take milliseconds). It also brings in
	// the requests other engines recorded. 0 means DefaultSessionCacheTTL (1 minute) over such a
	// store, and off over an exclusive store (the default SQLite in Dir), where no one else
	// can change a session; a positive value applies to every store; a negative one turns the
	// guard off.
	SessionCacheTTL time.Duration
	// PasswordMinLen is the shortest local password, in code points; 0 means 8. At most 128.
	PasswordMinLen int
	// Hashing sets the argon2id parameters; the zero value means DefaultHashParams. Weaker values
	// are allowed (tests want cheap hashing) and logged as a warning at Open.
	Hashing HashParams
	// HashConcurrency is how many argon2id computations may run at once; 0 means
	// runtime.GOMAXPROCS(0). Each takes Hashing.MemoryKiB of memory while it runs.
	HashConcurrency int
	// Throttle sets the back-off after failed sign-ins (S9); the zero value means DefaultThrottle.
	// It applies per account (canonical login or email) and, separately, per device token (S36).
	Throttle ThrottleParams
	// ClientThrottle sets the back-off after failed sign-ins from one client address
	// (Credentials.ClientAddr) across all accounts, so spraying one password over many logins is
	// slowed (S36); the zero value means DefaultClientThrottle (20 free failures). A success
	// does not reset it: the count is forgotten an hour after the last failure or delay. Sign-ins
	// with a valid device token do not count against it.
	ClientThrottle ThrottleParams
	// ResetTTL is the lifetime of a password-reset token; 0 means 1h.
	ResetTTL time.Duration
	// ResetURL is the link a reset mail carries, with "{token}" where the token goes
	// ("https://app.example/reset?token={token}"); "" means the mail carries the bare token.
	ResetURL string
	// MailFrom is the From address of every message; "" means "authcube@localhost".
	MailFrom string
	// Mailer sends mail; nil means the outbox directory Dir/outbox, one .eml file per message
	// (mode 0600), where an offline prototype can read it.
	Mailer Mailer
	// Identity is a custom identity provider (an external user base): with it, SignIn by login
	// asks it about logins unknown locally and about its own users; nil means none.
	Identity identity.PasswordVerifier
	// Providers verify provider tokens by Credentials.Provider: "firebase_phone",
	// "firebase_email", or any name of the application's choosing.
	Providers map[string]identity.TokenVerifier
	// SecondFactorExempt names first factors (Credentials.Provider names, "custom" for the
	// custom identity provider) whose sign-ins skip the second factor of a user with TOTP, for
	// providers that check their own; nil means every way in asks for it (S39).
	SecondFactorExempt []string
	// EmailVerification chooses what the engine does about unverified addresses (S40):
	// EmailVerifyOff (the default) mails nothing; EmailVerifySend mails a verification link at
	// sign-up and at an email change; EmailVerifyRequire does so and refuses password sign-ins
	// of a user whose address is unverified with ErrEmailNotVerified.
	EmailVerification EmailVerification
	// VerifyEmailURL is the link a verification mail carries, with "{token}" where the token
	// goes; "" means the mail carries the bare token. Tokens live VerifyEmailTTL (24h).
	VerifyEmailURL string
	// SignInCodes enables RequestSignInCode and sign-ins with Credentials.Code (S40).
	SignInCodes bool
	// SignInCodeURL is the link a sign-in code mail carries beside the code, with "{email}" and
	// "{code}" (query-escaped); "" means the code alone.
	SignInCodeURL string
	// Passwordless lets SignUp create a user with an email and no password, who signs in with
	// codes by email (with SignInCodes) or a provider. Off by default.
	Passwordless bool
	// TOTPIssuer is the issuer an authenticator app shows beside a TOTP enrolment; "" means
	// "authcube".
	TOTPIssuer string
	// LinkVerifiedEmail, when true, makes a provider token whose email the provider states as
	// verified sign in to the local user with that email (linking the provider's identity to
	// it) instead of creating a new user. False (the default) keeps accounts keyed by
	// (provider, subject) alone and never merged by email (S22, S43): turn it on only for
	// providers whose verified emails you trust as much as your own email checks.
	LinkVerifiedEmail bool
	// OnEvent, when set, receives every [Event] after its change has committed, on the goroutine
	// of the call that caused it, with no engine lock held. It must not block for long.
	OnEvent func(Event)
	// MaxFileSize is the largest file in bytes, enforced while the bytes stream in; 0 means
	// 100 MiB.
	MaxFileSize int64
	// QueryTimeout is the time budget of every page query (ListUsers and the UsersBy* calls):
	// one still running then is interrupted and is ErrInvalid with Field "where" (S32); 0 means
	// DefaultQueryTimeout (1s). Unique look-ups (User, UserByLogin, ...) read one index entry
	// and have no budget beyond ctx.
	QueryTimeout time.Duration
	// Store replaces the default SQLite store in Dir. A custom store gets no directory lock.
	Store store.Store
	// Blobs replaces the default file store, the directory Dir/blobs: for instance an
	// S3-compatible bucket from blob/s3, which several engines sharing a store may share.
	Blobs blob.Store
	// Now is the clock; nil means time.Now. The engine uses Now().UTC() truncated to milliseconds.
	Now func() time.Time
	// Rand is the source of tokens, ids and salts; nil means crypto/rand.Reader. Tests inject a
	// seeded reader to get the same tokens run after run. Reads are serialised by the engine.
	Rand io.Reader
	// Logger receives the engine's log records, never with secrets; nil means slog.Default().
	Logger *slog.Logger
}

// Engine is an open authcube engine. It is safe for concurrent use by many goroutines.
type Engine struct {
	cfg      Config
	store    store.Store
	lock     *dirlock.Lock
	log      *slog.Logger
	hasher   *hasher
	blobs    blob.Store
	cache    *sessionCache // nil over a store neither exclusive nor a notifier (rule 7)
	throttle *throttle

	deviceKey []byte // signs device tokens (S36): Dir/device.key

	// cacheLost is set while a store.Notifier's subscription is lost: the cache then answers
	// nothing. unsubscribe ends the subscription; it is nil without one.
	cacheLost   atomic.Bool
	unsubscribe context.CancelFunc
	cacheTTLMS  int64 // the last guard, Config.SessionCacheTTL in ms; 0 when off

	idleMS, maxAgeMS int64 // SessionIdleTTL and SessionMaxAge in ms

	randMu sync.Mutex

	// blobDeletes is held for reading by every deletion of file bytes, and for writing by
	// Backup while it copies the database and links the bytes.
	blobDeletes sync.RWMutex

	// Calls in flight: begin counts up, done counts down; Close waits for zero.
	inflight  atomic.Int64
	closed    atomic.Bool
	drained   chan struct{}
	closeOnce sync.Once
	closeErr  error

	stop       chan struct{} // closed by Close: background work ends
	background sync.WaitGroup
	mail       chan mailJob  // the bounded mail queue, closed by Close after the calls in flight
	mailDone   chan struct{} // closed when the mail worker has drained the queue
}

// Open opens (creating when missing) an engine whose state lives in cfg.Dir. It takes an
// exclusive lock on cfg.Dir/LOCK: a second Open of the directory, in this or another process,
// fails with ErrLocked. A database written by a newer authcube is refused. ctx bounds the opening
// only.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	const op = "open"
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, log: cfg.Logger, store: cfg.Store, blobs: cfg.Blobs,
		idleMS: cfg.SessionIdleTTL.Milliseconds(), maxAgeMS: cfg.SessionMaxAge.Milliseconds(),
		drained: make(chan struct{}, 1), stop: make(chan struct{}),
		mail: make(chan mailJob, mailQueueSize), mailDone: make(chan struct{}),
	}
	e.hasher = newHasher(cfg.Hashing, cfg.HashConcurrency, e.readRand)
	if cfg.Hashing.weakerThan(DefaultHashParams) {
		e.log.Warn("authcube: password hashing is weaker than the defaults; use this only in tests",
			"memory_kib", cfg.Hashing.MemoryKiB, "iterations", cfg.Hashing.Iterations)
	}
	if e.store == nil {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, internal(op, err)
		}
		lock, err := dirlock.Acquire(filepath.Join(cfg.Dir, "LOCK"))
		if errors.Is(err, dirlock.ErrLocked) {
			return nil, &Error{Code: CodeLocked, Op: op, Message: "directory is in use by another engine", Err: err}
		}
		if err != nil {
			return nil, internal(op, err)
		}
		// The engine holds the directory's lock: nothing else writes the database.
		st, err := sqlite.Open(ctx, filepath.Join(cfg.Dir, "authcube.db"), sqlite.Options{Exclusive: true})
		if err != nil {
			lock.Release()
			if errors.Is(err, sqlite.ErrSchemaTooNew) {
				return nil, &Error{Code: CodeInternal, Op: op, Message: "the data directory was written by a newer authcube", Err: err}
			}
			if errors.Is(err, sqlite.ErrLibcMismatch) {
				return nil, &Error{Code: CodeInternal, Op: op, Message: "the program links a modernc.org/libc that its modernc.org/sqlite does not support", Err: err}
			}
			return nil, internal(op, err)
		}
		e.lock, e.store = lock, st
	}
	if err := e.startCache(); err != nil {
		e.closeStore()
		return nil, internal(op, err)
	}
	if e.blobs == nil {
		bs, err := blob.OpenDir(filepath.Join(cfg.Dir, "blobs"))
		if err != nil {
			e.closeStore()
			return nil, internal(op, err)
		}
		e.blobs = bs
	}
	if e.cfg.Mailer == nil {
		dir := filepath.Join(cfg.Dir, "outbox")
		ob, err := newOutbox(dir, e.now, e.readRand)
		if err != nil {
			e.closeStore()
			return nil, internal(op, err)
		}
		e.cfg.Mailer = ob
		e.log.Info("authcube: mail goes to the outbox directory, one .eml file per message", "dir", dir)
	}
	key, err := e.loadDeviceKey(ctx)
	if err != nil {
		e.closeStore()
		return nil, internal(op, err)
	}
	e.deviceKey = key
	go e.mailWorker()
	e.throttle = newThrottle(e)
	e.background.Add(1)
	go e.housekeeping()
	return e, nil
}

// setDefaults fills the zero fields and refuses impossible values.
func (c *Config) setDefaults() error {
	const op = "open"
	switch {
	case c.Dir == "" && (c.Store == nil || c.Blobs == nil || c.Mailer == nil):
		return invalid(op, "Dir", "is required unless Store, Blobs and Mailer are given")
	case c.MaxFileSize < 0:
		return invalid(op, "MaxFileSize", "must not be negative")
	case c.QueryTimeout < 0:
		return invalid(op, "QueryTimeout", "must not be negative")
	case c.ResetTTL < 0:
		return invalid(op, "ResetTTL", "must not be negative")
	case c.ResetURL != "" && !strings.Contains(c.ResetURL, "{token}"):
		return invalid(op, "ResetURL", `must contain "{token}"`)
	case c.EmailVerification < EmailVerifyOff || c.EmailVerification > EmailVerifyRequire:
		return invalid(op, "EmailVerification", "must be EmailVerifyOff, EmailVerifySend or EmailVerifyRequire")
	case c.VerifyEmailURL != "" && !strings.Contains(c.VerifyEmailURL, "{token}"):
		return invalid(op, "VerifyEmailURL", `must contain "{token}"`)
	case c.SignInCodeURL != "" && !strings.Contains(c.SignInCodeURL, "{code}"):
		return invalid(op, "SignInCodeURL", `must contain "{code}"`)
	case c.SessionIdleTTL < 0, c.SessionMaxAge < 0:
		return invalid(op, "SessionIdleTTL", "must not be negative")
	case c.PasswordMinLen < 0 || c.PasswordMinLen > canon.MaxPasswordLen:
		return invalid(op, "PasswordMinLen", fmt.Sprintf("must be 0 to %d", canon.MaxPasswordLen))
	case c.HashConcurrency < 0:
		return invalid(op, "HashConcurrency", "must not be negative")
	case c.SessionCacheSize < 0:
		return invalid(op, "SessionCacheSize", "must not be negative")
	case c.Throttle.Free < 0 || c.Throttle.Base < 0 || c.Throttle.Max < 0:
		return invalid(op, "Throttle", "must not be negative")
	case c.ClientThrottle.Free < 0 || c.ClientThrottle.Base < 0 || c.ClientThrottle.Max < 0:
		return invalid(op, "ClientThrottle", "must not be negative")
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.ResetTTL == 0 {
		c.ResetTTL = DefaultResetTTL
	}
	if c.MailFrom == "" {
		c.MailFrom = DefaultMailFrom
	}
	if err := checkAddress(c.MailFrom); err != nil {
		return invalid(op, "MailFrom", err.Error())
	}
	if c.SessionCacheSize == 0 {
		c.SessionCacheSize = DefaultSessionCache
	}
	if c.Throttle.Free == 0 {
		c.Throttle.Free = DefaultThrottle.Free
	}
	if c.Throttle.Base == 0 {
		c.Throttle.Base = DefaultThrottle.Base
	}
	if c.Throttle.Max == 0 {
		c.Throttle.Max = DefaultThrottle.Max
	}
	if c.ClientThrottle.Free == 0 {
		c.ClientThrottle.Free = DefaultClientThrottle.Free
	}
	if c.ClientThrottle.Base == 0 {
		c.ClientThrottle.Base = DefaultClientThrottle.Base
	}
	if c.ClientThrottle.Max == 0 {
		c.ClientThrottle.Max = DefaultClientThrottle.Max
	}
	if c.AppID == 0 {
		c.AppID = DefaultAppID
	}
	if c.SessionIdleTTL == 0 {
		c.SessionIdleTTL = DefaultSessionIdleTTL
	}
	if c.SessionMaxAge == 0 {
		c.SessionMaxAge = DefaultSessionMaxAge
	}
	if c.PasswordMinLen == 0 {
		c.PasswordMinLen = DefaultPasswordMinLen
	}
	if c.Hashing == (HashParams{}) {
		c.Hashing = DefaultHashParams
	}
	if c.Hashing.Iterations == 0 || c.Hashing.Parallelism == 0 || c.Hashing.MemoryKiB < 8*uint32(c.Hashing.Parallelism) ||
		c.Hashing.MemoryKiB > maxMemoryKiB || c.Hashing.Iterations > maxIterations || c.Hashing.Parallelism > maxParallelism {
		return invalid(op, "Hashing", "argon2id parameters out of range")
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Close waits for calls in flight, writes back buffered session activity, stops background work
// and releases the directory. It is idempotent; calls after it return ErrClosed.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		for e.inflight.Load() != 0 {
			<-e.drained
		}
		close(e.mail) // the worker sends what is queued, then stops
		<-e.mailDone
		close(e.stop)
		e.background.Wait()
		err := e.flushActivity(context.Background())
		err = errors.Join(err, e.closeStore())
		if err != nil {
			e.closeErr = internal("close", err)
		}
	})
	return e.closeErr
}

// closeStore ends the subscription to session changes, closes the store and releases the
// directory.
func (e *Engine) closeStore() error {
	if e.unsubscribe != nil {
		e.unsubscribe()
	}
	err := e.store.Close()
	if e.blobs != nil {
		err = errors.Join(err, e.blobs.Close())
	}
	if e.lock != nil {
		err = errors.Join(err, e.lock.Release())
	}
	return err
}

// begin registers a call in flight; it fails with ErrClosed once Close has started. Every
// exported method but Close and AppID calls it (directly, or through enter, lookUp, run or
// another exported method) before it touches the store, the files or the mail queue, and then
// defers e.done(); only checks of its arguments may come before it.
func (e *Engine) begin(op string) error {
	e.inflight.Add(1)
	if e.closed.Load() {
		e.done()
		return errorFor(ErrClosed, op, "")
	}
	return nil
}

// done ends a call begun with begin, waking Close when it was the last.
func (e *Engine) done() {
	if e.inflight.Add(-1) == 0 && e.closed.Load() {
		select {
		case e.drained <- struct{}{}:
		default:
		}
	}
}

// housekeeping writes back session activity every flushInterval and sweeps every
// sweepInterval, until Close.
func (e *Engine) housekeeping() {
	defer e.background.Done()
	flush := time.NewTicker(flushInterval)
	defer flush.Stop()
	sweep := time.NewTicker(sweepInterval)
	defer sweep.Stop()
	ctx := context.Background()
	for {
		select {
		case <-e.stop:
			return
		case <-flush.C:
			if err := e.flushActivity(ctx); err != nil {
				e.log.Error("authcube: writing back session activity", "err", err)
			}
		case <-sweep.C:
			if err := e.sweep(ctx); err != nil {
				e.log.Error("authcube: sweeping expired sessions", "err", err)
			}
		}
	}
}

// flushActivity writes back the activity the session cache holds (rule 3).
func (e *Engine) flushActivity(ctx context.Context) error {
	if e.cache == nil {
		return nil
	}
	acts := e.cache.unwritten()
	if len(acts) == 0 {
		return nil
	}
	if err := e.store.RecordActivity(ctx, acts); err != nil {
		return err
	}
	e.cache.written(acts)
	return nil
}

// Sweep runs the engine's housekeeping now, as it does by itself every 10 minutes: it deletes
// expired sessions, stale throttle rows and reset tokens, files left pending for a day, bytes
// no file names and unfinished uploads of files no longer pending (S3), and outbox mail past
// its time. Engines sharing a store may sweep at once. Call it from a scheduler, or from tests
// that must not wait; it returns the first error met.
func (e *Engine) Sweep(ctx context.Context) error {
	if err := e.begin("sweep"); err != nil {
		return err
	}
	defer e.done()
	if err := e.sweep(ctx); err != nil {
		return internal("sweep", err)
	}
	return nil
}

// sweep deletes expired sessions and stale throttle rows, with times from Config.Now. Idle
// sessions go only after a grace longer than the flush interval, so that activity still in
// memory always wins (rule 5).
func (e *Engine) sweep(ctx context.Context) error {
	if err := e.flushActivity(ctx); err != nil {
		return err
	}
	now := e.now()
	_, err := e.store.DeleteExpiredSessions(ctx, now.Add(-e.cfg.SessionIdleTTL-sweepGrace), now.Add(-e.cfg.SessionMaxAge))
	if err != nil {
		return err
	}
	e.throttle.forget(now)
	if _, err := e.store.DeleteStaleThrottles(ctx, now.Add(-throttleMemory)); err != nil {
		return err
	}
	if _, err := e.store.DeleteStaleResetTokens(ctx, now); err != nil {
		return err
	}
	if sf, ok := e.store.(store.SecondFactors); ok {
		if _, err := sf.DeleteExpiredChallenges(ctx, now); err != nil {
			return err
		}
	}
	if ec, ok := e.store.(store.EmailCodes); ok {
		if _, err := ec.DeleteExpiredEmailCodes(ctx, now); err != nil {
			return err
		}
	}
	if err := e.collectFiles(ctx); err != nil {
		return err
	}
	if ob, ok := e.cfg.Mailer.(*outbox); ok {
		return ob.prune(now.Add(-e.cfg.ResetTTL))
	}
	return nil
}

// now is the engine's clock: UTC, truncated to the millisecond the store keeps.
func (e *Engine) now() time.Time { return e.cfg.Now().UTC().Truncate(time.Millisecond) }

// readRand fills b from Config.Rand. Reads are serialised: a seeded test reader need not be safe
// for concurrent use.
func (e *Engine) readRand(b []byte) error {
	e.randMu.Lock()
	defer e.randMu.Unlock()
	_, err := io.ReadFull(e.cfg.Rand, b)
	return err
}

// AppID returns the application id the engine reports in sessions (Config.AppID, 1 by
// default). It is safe to call at any time, also after Close.
func (e *Engine) AppID() int64 { return e.cfg.AppID }

package authcube

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/authcube/authcube/internal/unixms"
	"github.com/authcube/authcube/store"
)

// Session describes a session. An application session (UserID 0) may read; a user session may
// also write its own user's data. Token never prints, logs or marshals to JSON (S37): an app
// that hands the token to its own client sends it explicitly, in a field of its choosing.
type Session struct {
	ID         string // stable, not secret (a UUID)
	Token      string `json:"-"` // the bearer token; empty in Sessions()
	AppID      int64
	UserID     int64 // 0 for an application session
	CreatedAt  time.Time
	SignedInAt time.Time // zero for an application session
	UpdatedAt  time.Time // the last request
	ExpiresAt  time.Time // the session is dead when now >= ExpiresAt
	// DeviceToken is the device token of a user session, for Credentials.DeviceToken of later
	// sign-ins from the same device (S36); empty for application sessions and in Sessions(). It
	// is a secret, like Token, but not a credential: it never signs anyone in.
	DeviceToken string `json:"-"`
}

// IsUser reports whether s acts for a user (is signed in).
func (s Session) IsUser() bool { return s.UserID != 0 }

// String describes s without its token.
func (s Session) String() string {
	return fmt.Sprintf("Session{ID: %s, UserID: %d, ExpiresAt: %s}", s.ID, s.UserID, s.ExpiresAt.Format(time.RFC3339))
}

// GoString is String: the token never prints, not even with %#v.
func (s Session) GoString() string { return s.String() }

// LogValue logs s without its token.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.Int64("user_id", s.UserID), slog.Time("expires_at", s.ExpiresAt))
}

// Credentials say who signs in: Login or Email (not both) with Password, or Provider with Token.
// A Provider is looked up in Config.Providers. Password, Token and DeviceToken never print, log
// or marshal to JSON (S37): encoding/json leaves them out, so Credentials cannot carry them through
// JSON either way.
//
// ClientAddr is the client's IP address ("203.0.113.7", "2001:db8::1"; an address with a port,
// as http.Request.RemoteAddr has it, is accepted and the port dropped); "" means unknown, as for
// in-process calls. Failed sign-ins are also counted per client address across all accounts
// (Config.ClientThrottle; IPv6 per /64), so spraying one password over many logins is slowed
// (S36). Anything else than an address is ErrInvalid with Field "client_addr".
//
// DeviceToken is the Session.DeviceToken of an earlier sign-in on this device, or "". When it
// is valid for the account signing in, the attempt counts against the budget of that user's
// devices instead of the account's, so an attacker's failures do not lock the owner's device
// out (S36). All device tokens of a user share that one budget (more tokens are not more
// guesses), and the client address's budget applies as without a token. A malformed, forged,
// expired (DeviceTokenMaxAge) or other user's device token is ignored. Password sign-ins by
// login or email use it.
type Credentials struct {
	Login, Email string
	Password     string `json:"-"`
	Provider     string
	Token        string `json:"-"`
	ClientAddr   string
	DeviceToken  string `json:"-"`
	// Code is a sign-in code mailed by RequestSignInCode, with Email (Config.SignInCodes).
	Code string `json:"-"`
}

// String describes c without its password, token, device token or code.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{Login: %q, Email: %q, Provider: %q, ClientAddr: %q, Password: %s, Token: %s, DeviceToken: %s, Code: %s}",
		c.Login, c.Email, c.Provider, c.ClientAddr, redacted(c.Password), redacted(c.Token), redacted(c.DeviceToken), redacted(c.Code))
}

// GoString is String: secrets never print, not even with %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs c without its password, token or device token.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("login", logLogin(c.Login)), slog.String("email", logLogin(c.Email)),
		slog.String("provider", logLogin(c.Provider)), slog.String("client_addr", logLogin(c.ClientAddr)))
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

const (
	tokenBytes = 32
	tokenLen   = 43 // base64url of 32 bytes, unpadded
)

var tokenEncoding = base64.RawURLEncoding.Strict()

// newToken returns a fresh bearer token and the hash the store keeps.
func (e *Engine) newToken() (string, [32]byte, error) {
	var b [tokenBytes]byte
	if err := e.readRand(b[:]); err != nil {
		return "", [32]byte{}, err
	}
	return tokenEncoding.EncodeToString(b[:]), sha256.Sum256(b[:]), nil
}

// tokenHash checks a token's form (S12) and returns its hash. A malformed token is refused
// before any store access.
func tokenHash(token string) ([32]byte, bool) {
	if len(token) != tokenLen {
		return [32]byte{}, false
	}
	var b [tokenBytes]byte
	n, err := tokenEncoding.Decode(b[:], []byte(token))
	if err != nil || n != tokenBytes {
		return [32]byte{}, false
	}
	return sha256.Sum256(b[:]), true
}

// newID returns a random (version 4) UUID drawn from Config.Rand.
func (e *Engine) newID() (string, error) {
	var b [16]byte
	if err := e.readRand(b[:]); err != nil {
		return "", err
	}
	u, err := uuid.NewRandomFromReader(bytes.NewReader(b[:]))
	return u.String(), err
}

// expiresAt is when s dies: SessionIdleTTL after its last request, but never later than
// SessionMaxAge after sign-in (user sessions) or creation (application sessions).
func (e *Engine) expiresAt(s store.Session) time.Time {
	return fromMS(e.expiresAtMS(s.UserID, ms(s.CreatedAt), ms(s.SignedInAt), ms(s.LastRequestAt)))
}

func (e *Engine) expiresAtMS(userID, created, signedIn, lastReq int64) int64 {
	start := created
	if userID != 0 {
		start = signedIn
	}
	return min(lastReq+e.idleMS, start+e.maxAgeMS)
}

func (e *Engine) publicSession(s store.Session, token string) Session {
	ps := Session{
		ID: s.ID, Token: token, AppID: s.AppID, UserID: s.UserID,
		CreatedAt: s.CreatedAt, SignedInAt: s.SignedInAt, UpdatedAt: s.LastRequestAt, ExpiresAt: e.expiresAt(s),
	}
	if token != "" && s.UserID != 0 { // only the holder of the session's token gets it (S36)
		ps.DeviceToken = e.deviceToken(s.UserID, s.ID, s.SignedInAt)
	}
	return ps
}

// live finds the live session of token and counts a request: its expiry slides. A malformed,
// unknown, destroyed, revoked or expired token is ErrUnauthorized, before any side effect, with
// ErrSessionRevoked or ErrSessionExpired as its cause (S33); the first use of an expired one
// removes it and emits SessionExpired. With the cache, a live token costs no store call; the
// activity is written back later. The cache holds live sessions only: a revoked token, like an
// unknown one, costs a store look-up.
func (e *Engine) live(ctx context.Context, op, token string) (store.Session, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return store.Session{}, unauthorized(op, ErrSessionExpired)
	}
	now := ms(e.now())
	if e.cache == nil || e.cacheLost.Load() {
		return e.liveUncached(ctx, op, hash, now)
	}
	if ent := e.cache.get(hash); ent != nil && e.cacheTTLMS > 0 && now-ent.checked.Load() >= e.cacheTTLMS {
		// The last guard (rule 8): confirm the entry with the store, or drop it and read anew.
		s, err := e.store.Session(ctx, hash)
		if uerr := missing(op, err); uerr != nil {
			e.cache.drop(hash)
			return store.Session{}, uerr
		}
		if err != nil {
			return store.Session{}, storeErr(op, err)
		}
		if s.ID != ent.id || s.UserID != ent.userID || ms(s.SignedInAt) != ent.signedInAt {
			e.cache.drop(hash) // changed unseen: the miss below loads it again
		} else {
			ent.touch(ms(s.LastRequestAt)) // requests other instances recorded
			ent.checked.Store(now)
		}
	}
	if ent := e.cache.get(hash); ent != nil {
		if now >= e.expiresAtMS(ent.userID, ent.createdAt, ent.signedInAt, ent.lastReq.Load()) {
			return store.Session{}, e.expire(ctx, op, ent.record(hash))
		}
		ent.touch(now)
		return ent.record(hash), nil
	}
	// A miss: load the row, and install it unless a revocation raced the load (rule 1).
	for range 3 {
		gen, parked := e.cache.generation(hash)
		s, err := e.store.Session(ctx, hash)
		if uerr := missing(op, err); uerr != nil {
			return store.Session{}, uerr
		}
		if err != nil {
			return store.Session{}, storeErr(op, err)
		}
		stored := ms(s.LastRequestAt)
		s.LastRequestAt = fromMS(max(stored, parked))
		if now >= ms(e.expiresAt(s)) {
			return store.Session{}, e.expire(ctx, op, s)
		}
		s.LastRequestAt = fromMS(max(now, ms(s.LastRequestAt)))
		if ent, ok := e.cache.fill(hash, newEntry(s, stored, now), gen); ok {
			return ent.record(hash), nil
		}
	}
	// Revocations kept racing the fill: answer from the store alone.
	return e.liveUncached(ctx, op, hash, now)
}

// liveUncached is live without the cache: the store is read and written on every request.
func (e *Engine) liveUncached(ctx context.Context, op string, hash [32]byte, now int64) (store.Session, error) {
	s, err := e.store.Session(ctx, hash)
	if uerr := missing(op, err); uerr != nil {
		return store.Session{}, uerr
	}
	if err != nil {
		return store.Session{}, storeErr(op, err)
	}
	if now >= ms(e.expiresAt(s)) {
		return store.Session{}, e.expire(ctx, op, s)
	}
	if err := e.store.TouchSession(ctx, hash, fromMS(now)); err != nil {
		if errors.Is(err, store.ErrNotFound) { // destroyed meanwhile
			return store.Session{}, e.gone(ctx, op, hash)
		}
		return store.Session{}, storeErr(op, err)
	}
	s.LastRequestAt = fromMS(max(now, ms(s.LastRequestAt)))
	return s, nil
}

// expire removes an expired session, emits SessionExpired the first time, and returns the
// ErrUnauthorized its caller gets.
func (e *Engine) expire(ctx context.Context, op string, s store.Session) error {
	removed, err := e.store.ExpireSession(ctx, s.TokenHash, s.LastRequestAt)
	if err != nil {
		return storeErr(op, err)
	}
	if e.cache != nil {
		e.cache.drop(s.TokenHash)
	}
	if removed {
		e.emit(Event{Kind: SessionExpired, SessionID: s.ID, UserID: s.UserID})
	}
	return unauthorized(op, ErrSessionExpired)
}

// missing maps the store's answer for a token without a live session to ErrUnauthorized with
// its cause (S33); any other answer gives nil.
func missing(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrRevoked):
		return unauthorized(op, ErrSessionRevoked)
	case errors.Is(err, store.ErrNotFound):
		return unauthorized(op, ErrSessionExpired)
	}
	return nil
}

// gone is the ErrUnauthorized of a session that passed its check but was no longer there for
// the write that followed: a look-up says whether it was revoked meanwhile (S33).
func (e *Engine) gone(ctx context.Context, op string, hash [32]byte) error {
	_, err := e.store.Session(ctx, hash)
	if errors.Is(err, store.ErrRevoked) {
		return unauthorized(op, ErrSessionRevoked)
	}
	return unauthorized(op, ErrSessionExpired)
}

// revoked drops sessions whose revocation has committed from the cache (rule 2: durable first,
// then dropped, then returned).
func (e *Engine) revoked(hashes ...[32]byte) {
	if e.cache == nil {
		return
	}
	for _, h := range hashes {
		e.cache.drop(h)
	}
}

// ms and fromMS convert to and from the stored Unix milliseconds (wrappers, so they inline).
func ms(t time.Time) int64     { return unixms.Of(t) }
func fromMS(v int64) time.Time { return unixms.Time(v) }

// CreateSession creates an application session: it may read, sign up, sign in and ask for a
// password reset.
func (e *Engine) CreateSession(ctx context.Context) (Session, error) {
	const op = "create session"
	if err := e.begin(op); err != nil {
		return Session{}, err
	}
	defer e.done()
	s, token, err := e.createSession(ctx, op, 0, "", "")
	if err != nil {
		return Session{}, err
	}
	e.emit(Event{Kind: SessionCreated, SessionID: s.ID, At: s.CreatedAt})
	return e.publicSession(s, token), nil
}

// createSession stores a new session, acting for userID when it is not 0. verifiedHash is the
// password hash the sign-in checked ("" for provider sign-ins): the store writes the session
// only while it is still the user's, so a sign-in that raced a password change or reset never
// yields a session (S16).
func (e *Engine) createSession(ctx context.Context, op string, userID int64, provider, verifiedHash string) (store.Session, string, error) {
	token, hash, err := e.newToken()
	if err != nil {
		return store.Session{}, "", internal(op, err)
	}
	id, err := e.newID()
	if err != nil {
		return store.Session{}, "", internal(op, err)
	}
	now := e.now()
	s := store.Session{TokenHash: hash, ID: id, AppID: e.cfg.AppID, UserID: userID, Provider: provider, CreatedAt: now, LastRequestAt: now}
	if userID != 0 {
		s.SignedInAt = now
	}
	var gen uint64
	if e.cache != nil {
		gen, _ = e.cache.generation(hash)
	}
	if err := e.store.CreateSession(ctx, s, verifiedHash); err != nil {
		if errors.Is(err, store.ErrNotFound) { // the user was deleted, or its password changed, meanwhile
			return store.Session{}, "", errorFor(ErrInvalidCredentials, op, "")
		}
		return store.Session{}, "", storeErr(op, err)
	}
	if e.cache != nil {
		// Cached from the start, so the first request costs no read. A revocation of the user's
		// sessions that committed meanwhile moved the generation, and then wins (rule 1).
		e.cache.fill(hash, newEntry(s, ms(now), ms(now)), gen)
	}
	return s, token, nil
}

// CreateUserSession checks the credentials and creates a new session already signed in. Use it
// instead of SignIn when tokens travel in cookies or URLs (S17): a fresh token after sign-in
// prevents session fixation. A failed check is ErrInvalidCredentials. A user with a second
// factor gets ErrSecondFactorRequired instead of a session: see CompleteSignIn.
func (e *Engine) CreateUserSession(ctx context.Context, c Credentials) (Session, error) {
	const op = "create user session"
	if err := e.begin(op); err != nil {
		return Session{}, err
	}
	defer e.done()
	u, ff, err := e.checkCredentials(ctx, op, c)
	if err != nil {
		return Session{}, err
	}
	if err := e.secondFactorChallenge(ctx, op, u, ff); err != nil {
		return Session{}, err
	}
	s, token, err := e.createSession(ctx, op, u.ID, ff.provider, u.PasswordHash)
	if err != nil {
		return Session{}, err
	}
	e.emit(Event{Kind: SessionCreated, SessionID: s.ID, UserID: u.ID, At: s.CreatedAt})
	e.emit(Event{Kind: SignedIn, SessionID: s.ID, UserID: u.ID, Provider: ff.provider, At: s.CreatedAt})
	return e.publicSession(s, token), nil
}

// Session returns the details of the session of token, counting a request (its expiry slides).
// A missing, unknown, destroyed, revoked or expired token is ErrUnauthorized, whose cause is
// ErrSessionRevoked or ErrSessionExpired.
func (e *Engine) Session(ctx context.Context, token string) (Session, error) {
	const op = "session"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return Session{}, err
	}
	defer done()
	return e.publicSession(s, token), nil
}

// SignIn upgrades the session of token to a user session for the user the credentials name.
// The token is kept, as ConnectyCube's SDKs require (S17); signing in on a user session switches
// it to the new user. The token is checked first (ErrUnauthorized); then any failure of the
// credentials is ErrInvalidCredentials, one error for unknown logins and wrong passwords alike.
// Right credentials of a user with a second factor are ErrSecondFactorRequired, and the
// session is left as it was: CompleteSignIn returns a fresh session.
func (e *Engine) SignIn(ctx context.Context, token string, c Credentials) (User, error) {
	const op = "sign in"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return User{}, err
	}
	defer done()
	u, ff, err := e.checkCredentials(ctx, op, c)
	if err != nil {
		return User{}, err
	}
	if err := e.secondFactorChallenge(ctx, op, u, ff); err != nil {
		return User{}, err // the session stays as it was; CompleteSignIn makes a fresh one
	}
	now := e.now()
	err = e.store.SignInSession(ctx, s.TokenHash, u.ID, ff.provider, u.PasswordHash, now)
	e.revoked(s.TokenHash) // the cached entry acts for the old user: reload it
	if err != nil {
		if errors.Is(err, store.ErrNotFound) { // the session or the user went meanwhile
			return User{}, e.gone(ctx, op, s.TokenHash)
		}
		return User{}, storeErr(op, err)
	}
	e.emit(Event{Kind: SignedIn, SessionID: s.ID, UserID: u.ID, Provider: ff.provider, At: now})
	u.LastRequestAt = now
	return publicUser(u), nil
}

// SignOut downgrades the session of token to an application session, keeping the token. On an
// application session it only counts a request.
func (e *Engine) SignOut(ctx context.Context, token string) error {
	const op = "sign out"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	if s.UserID == 0 {
		return nil
	}
	now := e.now()
	err = e.store.SignOutSession(ctx, s.TokenHash, now)
	e.revoked(s.TokenHash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return e.gone(ctx, op, s.TokenHash)
		}
		return storeErr(op, err)
	}
	e.emit(Event{Kind: SignedOut, SessionID: s.ID, UserID: s.UserID, At: now})
	return nil
}

// DestroySession ends the session of token: from its return on, the token is ErrUnauthorized
// with the cause ErrSessionRevoked, also after a restart.
func (e *Engine) DestroySession(ctx context.Context, token string) error {
	const op = "destroy session"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	err = e.store.DeleteSession(ctx, s.TokenHash)
	e.revoked(s.TokenHash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return e.gone(ctx, op, s.TokenHash)
		}
		return storeErr(op, err)
	}
	e.emit(Event{Kind: SessionDestroyed, SessionID: s.ID, UserID: s.UserID})
	return nil
}

// Sessions returns the live sessions of the session's own user, oldest first, without their
// tokens; each shows its latest request, including activity not yet written back. An
// application session gets ErrForbidden.
func (e *Engine) Sessions(ctx context.Context, token string) ([]Session, error) {
	const op = "sessions"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return nil, err
	}
	defer done()
	list, err := e.store.UserSessions(ctx, s.UserID)
	if err != nil {
		return nil, storeErr(op, err)
	}
	now := ms(e.now())
	out := make([]Session, 0, len(list))
	for _, ls := range list {
		if e.cache != nil { // rule 5: merge the activity held in memory
			ls.LastRequestAt = fromMS(max(ms(ls.LastRequestAt), e.cache.lastRequest(ls.TokenHash)))
		}
		if ls.TokenHash == s.TokenHash {
			ls.LastRequestAt = s.LastRequestAt
		}
		if now >= ms(e.expiresAt(ls)) {
			continue
		}
		out = append(out, e.publicSession(ls, ""))
	}
	return out, nil
}

// RevokeSession ends the session with the id (from Sessions) of the session's own user, say a
// lost device's: its token is then ErrUnauthorized with the cause ErrSessionRevoked, and a
// Client holding it does not renew it (S33). An id that is not one of the user's live sessions
// is ErrNotFound; revoking the caller's own session destroys it. An application session gets
// ErrForbidden.
func (e *Engine) RevokeSession(ctx context.Context, token, sessionID string) error {
	const op = "revoke session"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	if len(sessionID) > 64 {
		return errorFor(ErrNotFound, op, "")
	}
	hash, err := e.store.DeleteUserSession(ctx, s.UserID, sessionID)
	if err != nil {
		return storeErr(op, err)
	}
	e.revoked(hash)
	e.emit(Event{Kind: SessionRevoked, SessionID: sessionID, UserID: s.UserID})
	return nil
}

// RevokeOtherSessions ends every session of the session's own user except the session itself
// (other browsers and devices, API tokens), in one store transaction, so a session signing in
// meanwhile is either ended too or was not yet there; it returns how many ended. Their tokens
// are then ErrUnauthorized with the cause ErrSessionRevoked (S33), and each emits
// SessionRevoked. An application session gets ErrForbidden.
func (e *Engine) RevokeOtherSessions(ctx context.Context, token string) (int, error) {
	const op = "revoke other sessions"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return 0, err
	}
	defer done()
	ids, hashes, err := e.store.DeleteOtherUserSessions(ctx, s.UserID, s.TokenHash)
	if err != nil {
		return 0, storeErr(op, err)
	}
	e.revoked(hashes...)
	for _, id := range ids {
		e.emit(Event{Kind: SessionRevoked, SessionID: id, UserID: s.UserID})
	}
	return len(ids), nil
}

// enter starts a call that takes a token: it registers the call in flight (ErrClosed once
// Close has begun) and finds the live session, counting a request. On success the caller defers
// done.
func (e *Engine) enter(ctx context.Context, op, token string) (store.Session, func(), error) {
	if err := e.begin(op); err != nil {
		return store.Session{}, nil, err
	}
	s, err := e.live(ctx, op, token)
	if err != nil {
		e.done()
		return store.Session{}, nil, err
	}
	return s, e.done, nil
}

// enterUser is enter for calls that need a user session (S14): an application session gets
// ErrForbidden.
func (e *Engine) enterUser(ctx context.Context, op, token string) (store.Session, func(), error) {
	s, done, err := e.enter(ctx, op, token)
	if err == nil && s.UserID == 0 {
		done()
		return store.Session{}, nil, errorFor(ErrForbidden, op, "")
	}
	return s, done, err
}

package storetest

import (
	"context"
	"time"

	"github.com/authcube/authcube/store"
)

// Hooked wraps a store.Store and calls Before with the method's name ahead of every method. A
// non-nil error from Before is returned instead of calling the store: tests count store calls
// with it, or make the N-th call fail (S29). Before must be safe for concurrent use.
//
// Each method is one line through hook0, hook1 or hook2, grouped below by role. The store is a
// field, not embedded, on purpose: embedding would forward a method added to a role later
// without the hook, and a test asserting "no store call" would pass while calls went unseen. So
// the compiler insists that Hooked implements every method itself. Hooked has none of the
// optional abilities (store.Backuper, store.Exclusive, store.Notifier, store.Secrets), whatever
// Inner has.
type Hooked struct {
	Inner  store.Store
	Before func(method string) error
}

var _ store.Store = (*Hooked)(nil)

// hook0 runs Before for method, then call unless Before failed.
func hook0(h *Hooked, method string, call func() error) error {
	if err := h.Before(method); err != nil {
		return err
	}
	return call()
}

// hook1 is hook0 for a method with one result besides the error; it is the zero value when
// Before fails.
func hook1[T any](h *Hooked, method string, call func() (T, error)) (T, error) {
	if err := h.Before(method); err != nil {
		var zero T
		return zero, err
	}
	return call()
}

// hook2 is hook0 for a method with two results besides the error.
func hook2[T, U any](h *Hooked, method string, call func() (T, U, error)) (T, U, error) {
	if err := h.Before(method); err != nil {
		var (
			zt T
			zu U
		)
		return zt, zu, err
	}
	return call()
}

// Close implements store.Store; it is not hooked, so that cleanup always runs.
func (h *Hooked) Close() error { return h.Inner.Close() }

// Sessions: the methods of store.Sessions.

// CreateSession implements store.Sessions.
func (h *Hooked) CreateSession(ctx context.Context, s store.Session, verifiedHash string) error {
	return hook0(h, "CreateSession", func() error { return h.Inner.CreateSession(ctx, s, verifiedHash) })
}

// Session implements store.Sessions.
func (h *Hooked) Session(ctx context.Context, tokenHash [32]byte) (store.Session, error) {
	return hook1(h, "Session", func() (store.Session, error) { return h.Inner.Session(ctx, tokenHash) })
}

// TouchSession implements store.Sessions.
func (h *Hooked) TouchSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	return hook0(h, "TouchSession", func() error { return h.Inner.TouchSession(ctx, tokenHash, at) })
}

// SignInSession implements store.Sessions.
func (h *Hooked) SignInSession(ctx context.Context, tokenHash [32]byte, userID int64, provider, verifiedHash string, at time.Time) error {
	return hook0(h, "SignInSession", func() error { return h.Inner.SignInSession(ctx, tokenHash, userID, provider, verifiedHash, at) })
}

// SignOutSession implements store.Sessions.
func (h *Hooked) SignOutSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	return hook0(h, "SignOutSession", func() error { return h.Inner.SignOutSession(ctx, tokenHash, at) })
}

// DeleteSession implements store.Sessions.
func (h *Hooked) DeleteSession(ctx context.Context, tokenHash [32]byte) error {
	return hook0(h, "DeleteSession", func() error { return h.Inner.DeleteSession(ctx, tokenHash) })
}

// ExpireSession implements store.Sessions.
func (h *Hooked) ExpireSession(ctx context.Context, tokenHash [32]byte, lastRequest time.Time) (bool, error) {
	return hook1(h, "ExpireSession", func() (bool, error) { return h.Inner.ExpireSession(ctx, tokenHash, lastRequest) })
}

// RecordActivity implements store.Sessions.
func (h *Hooked) RecordActivity(ctx context.Context, acts []store.Activity) error {
	return hook0(h, "RecordActivity", func() error { return h.Inner.RecordActivity(ctx, acts) })
}

// UserSessions implements store.Sessions.
func (h *Hooked) UserSessions(ctx context.Context, userID int64) ([]store.Session, error) {
	return hook1(h, "UserSessions", func() ([]store.Session, error) { return h.Inner.UserSessions(ctx, userID) })
}

// DeleteUserSession implements store.Sessions.
func (h *Hooked) DeleteUserSession(ctx context.Context, userID int64, sessionID string) ([32]byte, error) {
	return hook1(h, "DeleteUserSession", func() ([32]byte, error) { return h.Inner.DeleteUserSession(ctx, userID, sessionID) })
}

// DeleteOtherUserSessions implements store.Sessions.
func (h *Hooked) DeleteOtherUserSessions(ctx context.Context, userID int64, keep [32]byte) ([]string, [][32]byte, error) {
	if err := h.Before("DeleteOtherUserSessions"); err != nil {
		return nil, nil, err
	}
	return h.Inner.DeleteOtherUserSessions(ctx, userID, keep)
}

// DeleteExpiredSessions implements store.Sessions.
func (h *Hooked) DeleteExpiredSessions(ctx context.Context, idleBefore, startedBefore time.Time) (int, error) {
	return hook1(h, "DeleteExpiredSessions", func() (int, error) { return h.Inner.DeleteExpiredSessions(ctx, idleBefore, startedBefore) })
}

// Users: the methods of store.Users.

// CreateUser implements store.Users.
func (h *Hooked) CreateUser(ctx context.Context, u store.User) (int64, error) {
	return hook1(h, "CreateUser", func() (int64, error) { return h.Inner.CreateUser(ctx, u) })
}

// User implements store.Users.
func (h *Hooked) User(ctx context.Context, id int64) (store.User, error) {
	return hook1(h, "User", func() (store.User, error) { return h.Inner.User(ctx, id) })
}

// UserByLogin implements store.Users.
func (h *Hooked) UserByLogin(ctx context.Context, loginCanon string) (store.User, error) {
	return hook1(h, "UserByLogin", func() (store.User, error) { return h.Inner.UserByLogin(ctx, loginCanon) })
}

// UserByEmail implements store.Users.
func (h *Hooked) UserByEmail(ctx context.Context, emailCanon string) (store.User, error) {
	return hook1(h, "UserByEmail", func() (store.User, error) { return h.Inner.UserByEmail(ctx, emailCanon) })
}

// UpdateUser implements store.Users.
func (h *Hooked) UpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	return hook2(h, "UpdateUser", func() (store.User, [][32]byte, error) { return h.Inner.UpdateUser(ctx, c) })
}

// DeleteUser implements store.Users.
func (h *Hooked) DeleteUser(ctx context.Context, sessionHash [32]byte, userID int64) ([][32]byte, error) {
	return hook1(h, "DeleteUser", func() ([][32]byte, error) { return h.Inner.DeleteUser(ctx, sessionHash, userID) })
}

// SetPasswordHash implements store.Users.
func (h *Hooked) SetPasswordHash(ctx context.Context, userID int64, old, new string) error {
	return hook0(h, "SetPasswordHash", func() error { return h.Inner.SetPasswordHash(ctx, userID, old, new) })
}

// Queries: the methods of store.Queries.

// UserByPhone implements store.Queries.
func (h *Hooked) UserByPhone(ctx context.Context, phone string) (store.User, error) {
	return hook1(h, "UserByPhone", func() (store.User, error) { return h.Inner.UserByPhone(ctx, phone) })
}

// UserByExternalID implements store.Queries.
func (h *Hooked) UserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	return hook1(h, "UserByExternalID", func() (store.User, error) { return h.Inner.UserByExternalID(ctx, externalID) })
}

// QueryUsers implements store.Queries.
func (h *Hooked) QueryUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	return hook2(h, "QueryUsers", func() ([]store.User, int, error) { return h.Inner.QueryUsers(ctx, q) })
}

// Identities: the methods of store.Identities.

// UserByIdentity implements store.Identities.
func (h *Hooked) UserByIdentity(ctx context.Context, provider, subject string) (store.User, error) {
	return hook1(h, "UserByIdentity", func() (store.User, error) { return h.Inner.UserByIdentity(ctx, provider, subject) })
}

// IdentitySubject implements store.Identities.
func (h *Hooked) IdentitySubject(ctx context.Context, userID int64, provider string) (string, error) {
	return hook1(h, "IdentitySubject", func() (string, error) { return h.Inner.IdentitySubject(ctx, userID, provider) })
}

// CreateIdentityUser implements store.Identities.
func (h *Hooked) CreateIdentityUser(ctx context.Context, provider, subject string, u store.User) (int64, error) {
	return hook1(h, "CreateIdentityUser", func() (int64, error) { return h.Inner.CreateIdentityUser(ctx, provider, subject, u) })
}

// RefreshUserName implements store.Identities.
func (h *Hooked) RefreshUserName(ctx context.Context, userID int64, fullName string, at time.Time) error {
	return hook0(h, "RefreshUserName", func() error { return h.Inner.RefreshUserName(ctx, userID, fullName, at) })
}

// ResetTokens: the methods of store.ResetTokens.

// CreateResetToken implements store.ResetTokens.
func (h *Hooked) CreateResetToken(ctx context.Context, t store.ResetToken) error {
	return hook0(h, "CreateResetToken", func() error { return h.Inner.CreateResetToken(ctx, t) })
}

// ResetToken implements store.ResetTokens.
func (h *Hooked) ResetToken(ctx context.Context, tokenHash [32]byte, now time.Time) (store.ResetToken, error) {
	return hook1(h, "ResetToken", func() (store.ResetToken, error) { return h.Inner.ResetToken(ctx, tokenHash, now) })
}

// ConsumeResetToken implements store.ResetTokens.
func (h *Hooked) ConsumeResetToken(ctx context.Context, tokenHash [32]byte, now time.Time, passwordHash string) (int64, [][32]byte, error) {
	return hook2(h, "ConsumeResetToken", func() (int64, [][32]byte, error) { return h.Inner.ConsumeResetToken(ctx, tokenHash, now, passwordHash) })
}

// DeleteStaleResetTokens implements store.ResetTokens.
func (h *Hooked) DeleteStaleResetTokens(ctx context.Context, now time.Time) (int, error) {
	return hook1(h, "DeleteStaleResetTokens", func() (int, error) { return h.Inner.DeleteStaleResetTokens(ctx, now) })
}

// Files: the methods of store.Files.

// CreateFile implements store.Files.
func (h *Hooked) CreateFile(ctx context.Context, sessionHash [32]byte, f store.File) (int64, error) {
	return hook1(h, "CreateFile", func() (int64, error) { return h.Inner.CreateFile(ctx, sessionHash, f) })
}

// CompleteFile implements store.Files.
func (h *Hooked) CompleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID, size int64, contentType string) (store.File, error) {
	return hook1(h, "CompleteFile", func() (store.File, error) {
		return h.Inner.CompleteFile(ctx, sessionHash, uid, ownerID, size, contentType)
	})
}

// File implements store.Files.
func (h *Hooked) File(ctx context.Context, uid string) (store.File, error) {
	return hook1(h, "File", func() (store.File, error) { return h.Inner.File(ctx, uid) })
}

// FileByID implements store.Files.
func (h *Hooked) FileByID(ctx context.Context, id int64) (store.File, error) {
	return hook1(h, "FileByID", func() (store.File, error) { return h.Inner.FileByID(ctx, id) })
}

// UserFiles implements store.Files.
func (h *Hooked) UserFiles(ctx context.Context, ownerID, afterID int64, offset, limit, totalCap int) ([]store.File, int, error) {
	return hook2(h, "UserFiles", func() ([]store.File, int, error) {
		return h.Inner.UserFiles(ctx, ownerID, afterID, offset, limit, totalCap)
	})
}

// RenameFile implements store.Files.
func (h *Hooked) RenameFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64, name string) (store.File, error) {
	return hook1(h, "RenameFile", func() (store.File, error) { return h.Inner.RenameFile(ctx, sessionHash, uid, ownerID, name) })
}

// DeleteFile implements store.Files.
func (h *Hooked) DeleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64) error {
	return hook0(h, "DeleteFile", func() error { return h.Inner.DeleteFile(ctx, sessionHash, uid, ownerID) })
}

// DeletePendingFiles implements store.Files.
func (h *Hooked) DeletePendingFiles(ctx context.Context, before time.Time) ([]string, error) {
	return hook1(h, "DeletePendingFiles", func() ([]string, error) { return h.Inner.DeletePendingFiles(ctx, before) })
}

// FileExists implements store.Files.
func (h *Hooked) FileExists(ctx context.Context, uid string) (bool, error) {
	return hook1(h, "FileExists", func() (bool, error) { return h.Inner.FileExists(ctx, uid) })
}

// Throttles: the methods of store.Throttles.

// Throttle implements store.Throttles.
func (h *Hooked) Throttle(ctx context.Context, key string) (int, time.Time, error) {
	return hook2(h, "Throttle", func() (int, time.Time, error) { return h.Inner.Throttle(ctx, key) })
}

// SetThrottle implements store.Throttles.
func (h *Hooked) SetThrottle(ctx context.Context, key string, failures int, until time.Time) error {
	return hook0(h, "SetThrottle", func() error { return h.Inner.SetThrottle(ctx, key, failures, until) })
}

// AddThrottleFailure implements store.Throttles.
func (h *Hooked) AddThrottleFailure(ctx context.Context, key string, at time.Time, r store.ThrottleRule) (int, time.Time, error) {
	return hook2(h, "AddThrottleFailure", func() (int, time.Time, error) { return h.Inner.AddThrottleFailure(ctx, key, at, r) })
}

// DeleteStaleThrottles implements store.Throttles.
func (h *Hooked) DeleteStaleThrottles(ctx context.Context, before time.Time) (int, error) {
	return hook1(h, "DeleteStaleThrottles", func() (int, error) { return h.Inner.DeleteStaleThrottles(ctx, before) })
}

package storetest

import (
	"context"
	"time"

	"github.com/authcube/authcube/store"
)

// Hooked wraps a store.Store and calls Before with the method's name ahead of every method. A
// non-nil error from Before is returned instead of calling the store: tests count store calls
// with it, or make the N-th call fail (S29). Before must be safe for concurrent use.
// The store is a field, not embedded, so the compiler insists that Hooked implements every
// method itself.
type Hooked struct {
	Inner  store.Store
	Before func(method string) error
}

var _ store.Store = (*Hooked)(nil)

// CreateSession implements store.Store.
func (h *Hooked) CreateSession(ctx context.Context, s store.Session, verifiedHash string) error {
	if err := h.Before("CreateSession"); err != nil {
		return err
	}
	return h.Inner.CreateSession(ctx, s, verifiedHash)
}

// Session implements store.Store.
func (h *Hooked) Session(ctx context.Context, tokenHash [32]byte) (store.Session, error) {
	if err := h.Before("Session"); err != nil {
		return store.Session{}, err
	}
	return h.Inner.Session(ctx, tokenHash)
}

// TouchSession implements store.Store.
func (h *Hooked) TouchSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	if err := h.Before("TouchSession"); err != nil {
		return err
	}
	return h.Inner.TouchSession(ctx, tokenHash, at)
}

// SignInSession implements store.Store.
func (h *Hooked) SignInSession(ctx context.Context, tokenHash [32]byte, userID int64, provider, verifiedHash string, at time.Time) error {
	if err := h.Before("SignInSession"); err != nil {
		return err
	}
	return h.Inner.SignInSession(ctx, tokenHash, userID, provider, verifiedHash, at)
}

// SignOutSession implements store.Store.
func (h *Hooked) SignOutSession(ctx context.Context, tokenHash [32]byte, at time.Time) error {
	if err := h.Before("SignOutSession"); err != nil {
		return err
	}
	return h.Inner.SignOutSession(ctx, tokenHash, at)
}

// DeleteSession implements store.Store.
func (h *Hooked) DeleteSession(ctx context.Context, tokenHash [32]byte) error {
	if err := h.Before("DeleteSession"); err != nil {
		return err
	}
	return h.Inner.DeleteSession(ctx, tokenHash)
}

// ExpireSession implements store.Store.
func (h *Hooked) ExpireSession(ctx context.Context, tokenHash [32]byte, lastRequest time.Time) (bool, error) {
	if err := h.Before("ExpireSession"); err != nil {
		return false, err
	}
	return h.Inner.ExpireSession(ctx, tokenHash, lastRequest)
}

// RecordActivity implements store.Store.
func (h *Hooked) RecordActivity(ctx context.Context, acts []store.Activity) error {
	if err := h.Before("RecordActivity"); err != nil {
		return err
	}
	return h.Inner.RecordActivity(ctx, acts)
}

// UserSessions implements store.Store.
func (h *Hooked) UserSessions(ctx context.Context, userID int64) ([]store.Session, error) {
	if err := h.Before("UserSessions"); err != nil {
		return nil, err
	}
	return h.Inner.UserSessions(ctx, userID)
}

// DeleteUserSession implements store.Store.
func (h *Hooked) DeleteUserSession(ctx context.Context, userID int64, sessionID string) ([32]byte, error) {
	if err := h.Before("DeleteUserSession"); err != nil {
		return [32]byte{}, err
	}
	return h.Inner.DeleteUserSession(ctx, userID, sessionID)
}

// DeleteExpiredSessions implements store.Store.
func (h *Hooked) DeleteExpiredSessions(ctx context.Context, idleBefore, startedBefore time.Time) (int, error) {
	if err := h.Before("DeleteExpiredSessions"); err != nil {
		return 0, err
	}
	return h.Inner.DeleteExpiredSessions(ctx, idleBefore, startedBefore)
}

// SetPasswordHash implements store.Store.
func (h *Hooked) SetPasswordHash(ctx context.Context, userID int64, old, new string) error {
	if err := h.Before("SetPasswordHash"); err != nil {
		return err
	}
	return h.Inner.SetPasswordHash(ctx, userID, old, new)
}

// Throttle implements store.Store.
func (h *Hooked) Throttle(ctx context.Context, key string) (int, time.Time, error) {
	if err := h.Before("Throttle"); err != nil {
		return 0, time.Time{}, err
	}
	return h.Inner.Throttle(ctx, key)
}

// SetThrottle implements store.Store.
func (h *Hooked) SetThrottle(ctx context.Context, key string, failures int, until time.Time) error {
	if err := h.Before("SetThrottle"); err != nil {
		return err
	}
	return h.Inner.SetThrottle(ctx, key, failures, until)
}

// DeleteStaleThrottles implements store.Store.
func (h *Hooked) DeleteStaleThrottles(ctx context.Context, before time.Time) (int, error) {
	if err := h.Before("DeleteStaleThrottles"); err != nil {
		return 0, err
	}
	return h.Inner.DeleteStaleThrottles(ctx, before)
}

// CreateUser implements store.Store.
func (h *Hooked) CreateUser(ctx context.Context, u store.User) (int64, error) {
	if err := h.Before("CreateUser"); err != nil {
		return 0, err
	}
	return h.Inner.CreateUser(ctx, u)
}

// User implements store.Store.
func (h *Hooked) User(ctx context.Context, id int64) (store.User, error) {
	if err := h.Before("User"); err != nil {
		return store.User{}, err
	}
	return h.Inner.User(ctx, id)
}

// UserByLogin implements store.Store.
func (h *Hooked) UserByLogin(ctx context.Context, loginCanon string) (store.User, error) {
	if err := h.Before("UserByLogin"); err != nil {
		return store.User{}, err
	}
	return h.Inner.UserByLogin(ctx, loginCanon)
}

// UserByEmail implements store.Store.
func (h *Hooked) UserByEmail(ctx context.Context, emailCanon string) (store.User, error) {
	if err := h.Before("UserByEmail"); err != nil {
		return store.User{}, err
	}
	return h.Inner.UserByEmail(ctx, emailCanon)
}

// UpdateUser implements store.Store.
func (h *Hooked) UpdateUser(ctx context.Context, c store.UserChange) (store.User, [][32]byte, error) {
	if err := h.Before("UpdateUser"); err != nil {
		return store.User{}, nil, err
	}
	return h.Inner.UpdateUser(ctx, c)
}

// DeleteUser implements store.Store.
func (h *Hooked) DeleteUser(ctx context.Context, sessionHash [32]byte, userID int64) ([][32]byte, error) {
	if err := h.Before("DeleteUser"); err != nil {
		return nil, err
	}
	return h.Inner.DeleteUser(ctx, sessionHash, userID)
}

// UserByPhone implements store.Store.
func (h *Hooked) UserByPhone(ctx context.Context, phone string) (store.User, error) {
	if err := h.Before("UserByPhone"); err != nil {
		return store.User{}, err
	}
	return h.Inner.UserByPhone(ctx, phone)
}

// UserByExternalID implements store.Store.
func (h *Hooked) UserByExternalID(ctx context.Context, externalID string) (store.User, error) {
	if err := h.Before("UserByExternalID"); err != nil {
		return store.User{}, err
	}
	return h.Inner.UserByExternalID(ctx, externalID)
}

// QueryUsers implements store.Store.
func (h *Hooked) QueryUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	if err := h.Before("QueryUsers"); err != nil {
		return nil, 0, err
	}
	return h.Inner.QueryUsers(ctx, q)
}

// CreateResetToken implements store.Store.
func (h *Hooked) CreateResetToken(ctx context.Context, t store.ResetToken) error {
	if err := h.Before("CreateResetToken"); err != nil {
		return err
	}
	return h.Inner.CreateResetToken(ctx, t)
}

// ResetToken implements store.Store.
func (h *Hooked) ResetToken(ctx context.Context, tokenHash [32]byte, now time.Time) (store.ResetToken, error) {
	if err := h.Before("ResetToken"); err != nil {
		return store.ResetToken{}, err
	}
	return h.Inner.ResetToken(ctx, tokenHash, now)
}

// ConsumeResetToken implements store.Store.
func (h *Hooked) ConsumeResetToken(ctx context.Context, tokenHash [32]byte, now time.Time, passwordHash string) (int64, [][32]byte, error) {
	if err := h.Before("ConsumeResetToken"); err != nil {
		return 0, nil, err
	}
	return h.Inner.ConsumeResetToken(ctx, tokenHash, now, passwordHash)
}

// DeleteStaleResetTokens implements store.Store.
func (h *Hooked) DeleteStaleResetTokens(ctx context.Context, now time.Time) (int, error) {
	if err := h.Before("DeleteStaleResetTokens"); err != nil {
		return 0, err
	}
	return h.Inner.DeleteStaleResetTokens(ctx, now)
}

// CreateFile implements store.Store.
func (h *Hooked) CreateFile(ctx context.Context, sessionHash [32]byte, f store.File) (int64, error) {
	if err := h.Before("CreateFile"); err != nil {
		return 0, err
	}
	return h.Inner.CreateFile(ctx, sessionHash, f)
}

// CompleteFile implements store.Store.
func (h *Hooked) CompleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID, size int64, contentType string) (store.File, error) {
	if err := h.Before("CompleteFile"); err != nil {
		return store.File{}, err
	}
	return h.Inner.CompleteFile(ctx, sessionHash, uid, ownerID, size, contentType)
}

// File implements store.Store.
func (h *Hooked) File(ctx context.Context, uid string) (store.File, error) {
	if err := h.Before("File"); err != nil {
		return store.File{}, err
	}
	return h.Inner.File(ctx, uid)
}

// FileByID implements store.Store.
func (h *Hooked) FileByID(ctx context.Context, id int64) (store.File, error) {
	if err := h.Before("FileByID"); err != nil {
		return store.File{}, err
	}
	return h.Inner.FileByID(ctx, id)
}

// UserFiles implements store.Store.
func (h *Hooked) UserFiles(ctx context.Context, ownerID, afterID int64, offset, limit, totalCap int) ([]store.File, int, error) {
	if err := h.Before("UserFiles"); err != nil {
		return nil, 0, err
	}
	return h.Inner.UserFiles(ctx, ownerID, afterID, offset, limit, totalCap)
}

// RenameFile implements store.Store.
func (h *Hooked) RenameFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64, name string) (store.File, error) {
	if err := h.Before("RenameFile"); err != nil {
		return store.File{}, err
	}
	return h.Inner.RenameFile(ctx, sessionHash, uid, ownerID, name)
}

// DeleteFile implements store.Store.
func (h *Hooked) DeleteFile(ctx context.Context, sessionHash [32]byte, uid string, ownerID int64) error {
	if err := h.Before("DeleteFile"); err != nil {
		return err
	}
	return h.Inner.DeleteFile(ctx, sessionHash, uid, ownerID)
}

// DeletePendingFiles implements store.Store.
func (h *Hooked) DeletePendingFiles(ctx context.Context, before time.Time) ([]string, error) {
	if err := h.Before("DeletePendingFiles"); err != nil {
		return nil, err
	}
	return h.Inner.DeletePendingFiles(ctx, before)
}

// FileExists implements store.Store.
func (h *Hooked) FileExists(ctx context.Context, uid string) (bool, error) {
	if err := h.Before("FileExists"); err != nil {
		return false, err
	}
	return h.Inner.FileExists(ctx, uid)
}

// UserByIdentity implements store.Store.
func (h *Hooked) UserByIdentity(ctx context.Context, provider, subject string) (store.User, error) {
	if err := h.Before("UserByIdentity"); err != nil {
		return store.User{}, err
	}
	return h.Inner.UserByIdentity(ctx, provider, subject)
}

// IdentitySubject implements store.Store.
func (h *Hooked) IdentitySubject(ctx context.Context, userID int64, provider string) (string, error) {
	if err := h.Before("IdentitySubject"); err != nil {
		return "", err
	}
	return h.Inner.IdentitySubject(ctx, userID, provider)
}

// CreateIdentityUser implements store.Store.
func (h *Hooked) CreateIdentityUser(ctx context.Context, provider, subject string, u store.User) (int64, error) {
	if err := h.Before("CreateIdentityUser"); err != nil {
		return 0, err
	}
	return h.Inner.CreateIdentityUser(ctx, provider, subject, u)
}

// RefreshUserName implements store.Store.
func (h *Hooked) RefreshUserName(ctx context.Context, userID int64, fullName string, at time.Time) error {
	if err := h.Before("RefreshUserName"); err != nil {
		return err
	}
	return h.Inner.RefreshUserName(ctx, userID, fullName, at)
}

// Close implements store.Store; it is not hooked, so that cleanup always runs.
func (h *Hooked) Close() error { return h.Inner.Close() }

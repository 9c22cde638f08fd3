package authcube

import (
	"context"
	"errors"
	"io"
	"sync"
)

// SessionListener receives the session events of one [Client]: SessionCreated, SignedIn,
// SignedOut, SessionDestroyed, SessionRenewed, SessionRenewFailed and SessionRevoked (the
// session was ended elsewhere, for good; Err says how). It is called on the goroutine of the
// call that caused the event and must not call back into the Client.
type SessionListener interface {
	SessionEvent(e Event)
}

// Client holds one session on behalf of one end user, as ConnectyCube's SDKs do: the first call
// creates an application session, SignIn upgrades it, and when a call finds the session expired
// (ErrUnauthorized with the cause ErrSessionExpired) the Client renews it (signing in again with
// the credentials of the last password SignIn, kept in memory only and updated when the user
// changes the password through the Client), tells the listener, and retries once. Safe for
// concurrent use; the listener may be nil.
//
// A session ended on purpose elsewhere (ErrSessionRevoked: revoked from another device,
// destroyed, ended by a password change on another session, a reset or the user's deletion) is
// never renewed (S33): the call returns that error, the Client forgets the token and the kept
// credentials, and the listener hears SessionRevoked. The next call starts over with a new
// application session, which the end user must sign in again. The engine tells revoked from
// expired for SessionMaxAge after the session started; a device that comes back later finds
// its session expired, and a Client still running then renews it: after a lost device, change
// the password as well as revoking its session.
//
// Credentials of a provider sign-in (Provider and Token) are not kept: a renewal then gives an
// application session, and the listener hears SessionRenewFailed.
type Client struct {
	e *Engine
	l SessionListener

	mu       sync.Mutex
	token    string       // "" until the first call
	userID   int64        // 0 when not signed in
	creds    *Credentials // of the last password SignIn, for renewal
	renewals int          // for tests and metrics: renewals done
}

// NewClient returns a Client on e. It creates no session until its first call.
func NewClient(e *Engine, l SessionListener) *Client {
	return &Client{e: e, l: l}
}

func (c *Client) tell(ev Event) {
	if c.l != nil {
		c.l.SessionEvent(ev)
	}
}

// current returns the client's token, creating an application session first if there is none.
func (c *Client) current(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" {
		return c.token, nil
	}
	s, err := c.e.CreateSession(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.userID = s.Token, 0
	c.tell(Event{Kind: SessionCreated, SessionID: s.ID, At: s.CreatedAt})
	return c.token, nil
}

// Do calls f with the current token, creating a session first if there is none; if f fails
// with ErrUnauthorized because the session expired (ErrSessionExpired), Do renews the session
// once and calls f again. Many goroutines that find the same session expired cause one
// renewal. Any other error is returned as it is, with no new session; after ErrSessionRevoked
// the Client forgets the session and tells the listener SessionRevoked (S33).
func (c *Client) Do(ctx context.Context, f func(ctx context.Context, token string) error) error {
	token, err := c.current(ctx)
	if err != nil {
		return err
	}
	err = f(ctx, token)
	switch {
	case errors.Is(err, ErrSessionRevoked):
		c.lost(token, err)
		return err
	case !errors.Is(err, ErrSessionExpired):
		return err // a bare ErrUnauthorized (from an f of the caller's) is not renewed either
	}
	token, err = c.renew(ctx, token)
	if err != nil {
		return err
	}
	return f(ctx, token)
}

// lost forgets the session stale, which ended for good (S33), with the kept credentials, and
// tells the listener, unless another call already did or renewed the session meanwhile.
func (c *Client) lost(stale string, err error) {
	c.mu.Lock()
	if c.token != stale {
		c.mu.Unlock()
		return
	}
	was := c.userID
	c.token, c.userID, c.creds = "", 0, nil
	c.mu.Unlock()
	c.tell(Event{Kind: SessionRevoked, UserID: was, Err: err})
}

// renew replaces the session stale, unless another call already did.
func (c *Client) renew(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != stale && c.token != "" {
		return c.token, nil // renewed meanwhile
	}
	s, err := c.e.CreateSession(ctx)
	if err != nil {
		c.tell(Event{Kind: SessionRenewFailed, UserID: c.userID, Err: err})
		return "", err
	}
	wasUser := c.userID
	c.token, c.userID = s.Token, 0
	c.renewals++
	if wasUser == 0 {
		c.tell(Event{Kind: SessionRenewed, SessionID: s.ID, At: s.CreatedAt})
		return c.token, nil
	}
	if c.creds == nil {
		err := errorFor(ErrUnauthorized, "renew session", "")
		err.Message = "session expired and no password is kept to sign in again"
		c.tell(Event{Kind: SessionRenewFailed, SessionID: s.ID, UserID: wasUser, Err: err})
		return "", err
	}
	u, err := c.e.SignIn(ctx, c.token, *c.creds)
	if err != nil {
		// The password changed elsewhere, say: keep the application session, forget the
		// credentials, and let the caller see why.
		c.creds = nil
		c.tell(Event{Kind: SessionRenewFailed, SessionID: s.ID, UserID: wasUser, Err: err})
		return "", err
	}
	c.userID = u.ID
	c.tell(Event{Kind: SessionRenewed, SessionID: s.ID, UserID: u.ID, At: u.LastRequestAt})
	return c.token, nil
}

// Session returns the details of the client's session, creating one if there is none.
func (c *Client) Session(ctx context.Context) (Session, error) {
	var s Session
	err := c.Do(ctx, func(ctx context.Context, token string) (err error) {
		s, err = c.e.Session(ctx, token)
		return err
	})
	return s, err
}

// IsSignedIn reports whether the client's session acts for a user.
func (c *Client) IsSignedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID != 0
}

// SignIn upgrades the client's session. The credentials of a password sign-in are kept in
// memory for renewals. When the session turns out to have been revoked, SignIn signs in on a
// new application session: the caller gave the credentials, so nothing revoked comes back by
// itself (the listener still hears SessionRevoked).
func (c *Client) SignIn(ctx context.Context, cr Credentials) (User, error) {
	var u User
	var used string
	signIn := func(ctx context.Context, token string) (err error) {
		used = token
		u, err = c.e.SignIn(ctx, token, cr)
		return err
	}
	err := c.Do(ctx, signIn)
	if errors.Is(err, ErrSessionRevoked) {
		err = c.Do(ctx, signIn) // Do forgot the revoked session: this one starts afresh
	}
	if err != nil {
		return User{}, err
	}
	c.mu.Lock()
	if c.token == used {
		c.userID = u.ID
		c.creds = nil
		if cr.Password != "" && cr.Provider == "" {
			kept := cr
			c.creds = &kept
		}
	}
	c.mu.Unlock()
	c.tell(Event{Kind: SignedIn, UserID: u.ID, Provider: "password", At: u.LastRequestAt})
	return u, nil
}

// SignOut downgrades the client's session to an application session and forgets the kept
// credentials.
func (c *Client) SignOut(ctx context.Context) error {
	err := c.Do(ctx, func(ctx context.Context, token string) error { return c.e.SignOut(ctx, token) })
	c.mu.Lock()
	was := c.userID
	c.userID, c.creds = 0, nil
	c.mu.Unlock()
	if err == nil {
		c.tell(Event{Kind: SignedOut, UserID: was})
	}
	return err
}

// DestroySession ends the client's session and forgets the kept credentials; the next call
// creates a new application session. A session that had already ended is not an error.
func (c *Client) DestroySession(ctx context.Context) error {
	c.mu.Lock()
	token := c.token
	c.token, c.userID, c.creds = "", 0, nil
	c.mu.Unlock()
	if token == "" {
		return nil
	}
	err := c.e.DestroySession(ctx, token)
	if errors.Is(err, ErrUnauthorized) {
		err = nil
	}
	if err == nil {
		c.tell(Event{Kind: SessionDestroyed})
	}
	return err
}

// Renewals returns how many times the client renewed its session.
func (c *Client) Renewals() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.renewals
}

// SignUp creates a user; see [Engine.SignUp]. The client's session is not signed in.
func (c *Client) SignUp(ctx context.Context, u NewUser) (User, error) {
	return call(c, ctx, func(ctx context.Context, token string) (User, error) { return c.e.SignUp(ctx, token, u) })
}

// UpdateUser updates the signed-in user; see [Engine.UpdateUser]. After a password change the
// kept credentials carry the new password, so renewals keep working.
func (c *Client) UpdateUser(ctx context.Context, u UserUpdate) (User, error) {
	out, err := call(c, ctx, func(ctx context.Context, token string) (User, error) { return c.e.UpdateUser(ctx, token, u) })
	if err == nil && u.Password != nil {
		c.mu.Lock()
		if c.creds != nil {
			kept := *c.creds
			kept.Password = *u.Password
			if u.Login != nil && kept.Login != "" {
				kept.Login = out.Login
			}
			if u.Email != nil && kept.Email != "" {
				kept.Email = out.Email
			}
			c.creds = &kept
		}
		c.mu.Unlock()
	}
	return out, err
}

// DeleteUser deletes the signed-in user; see [Engine.DeleteUser]. The client forgets its
// session and credentials.
func (c *Client) DeleteUser(ctx context.Context) error {
	err := c.Do(ctx, func(ctx context.Context, token string) error { return c.e.DeleteUser(ctx, token) })
	if err == nil {
		c.mu.Lock()
		c.token, c.userID, c.creds = "", 0, nil
		c.mu.Unlock()
	}
	return err
}

// call is Do for calls that return a value.
func call[T any](c *Client, ctx context.Context, f func(ctx context.Context, token string) (T, error)) (T, error) {
	var out T
	err := c.Do(ctx, func(ctx context.Context, token string) (err error) {
		out, err = f(ctx, token)
		return err
	})
	return out, err
}

// Sessions lists the signed-in user's sessions; see [Engine.Sessions].
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	return call(c, ctx, func(ctx context.Context, token string) ([]Session, error) { return c.e.Sessions(ctx, token) })
}

// RevokeSession ends one of the signed-in user's sessions; see [Engine.RevokeSession].
func (c *Client) RevokeSession(ctx context.Context, sessionID string) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.RevokeSession(ctx, token, sessionID) })
}

// RevokeOtherSessions ends all of the signed-in user's sessions but the client's own; see
// [Engine.RevokeOtherSessions].
func (c *Client) RevokeOtherSessions(ctx context.Context) (int, error) {
	return call(c, ctx, func(ctx context.Context, token string) (int, error) { return c.e.RevokeOtherSessions(ctx, token) })
}

// User looks a user up by id; see [Engine.User].
func (c *Client) User(ctx context.Context, id int64) (User, error) {
	return call(c, ctx, func(ctx context.Context, token string) (User, error) { return c.e.User(ctx, token, id) })
}

// UsersByIDs lists users by id; see [Engine.UsersByIDs].
func (c *Client) UsersByIDs(ctx context.Context, ids []int64, p Page) (UserPage, error) {
	return call(c, ctx, func(ctx context.Context, token string) (UserPage, error) { return c.e.UsersByIDs(ctx, token, ids, p) })
}

// UserByLogin looks a user up by login; see [Engine.UserByLogin].
func (c *Client) UserByLogin(ctx context.Context, login string) (User, error) {
	return call(c, ctx, func(ctx context.Context, token string) (User, error) { return c.e.UserByLogin(ctx, token, login) })
}

// UserByEmail looks a user up by email; see [Engine.UserByEmail].
func (c *Client) UserByEmail(ctx context.Context, email string) (User, error) {
	return call(c, ctx, func(ctx context.Context, token string) (User, error) { return c.e.UserByEmail(ctx, token, email) })
}

// UsersByFullName lists users by full name; see [Engine.UsersByFullName].
func (c *Client) UsersByFullName(ctx context.Context, name string, p Page) (UserPage, error) {
	return call(c, ctx, func(ctx context.Context, token string) (UserPage, error) {
		return c.e.UsersByFullName(ctx, token, name, p)
	})
}

// UserByPhone looks a user up by phone; see [Engine.UserByPhone].
func (c *Client) UserByPhone(ctx context.Context, phone string) (User, error) {
	return call(c, ctx, func(ctx context.Context, token string) (User, error) { return c.e.UserByPhone(ctx, token, phone) })
}

// UserByExternalID looks a user up by external id; see [Engine.UserByExternalID].
func (c *Client) UserByExternalID(ctx context.Context, externalID string) (User, error) {
	return call(c, ctx, func(ctx context.Context, token string) (User, error) {
		return c.e.UserByExternalID(ctx, token, externalID)
	})
}

// UsersByTags lists users by tag; see [Engine.UsersByTags].
func (c *Client) UsersByTags(ctx context.Context, tags []string, p Page) (UserPage, error) {
	return call(c, ctx, func(ctx context.Context, token string) (UserPage, error) { return c.e.UsersByTags(ctx, token, tags, p) })
}

// ListUsers lists users matching a query; see [Engine.ListUsers].
func (c *Client) ListUsers(ctx context.Context, q UserQuery) (UserPage, error) {
	return call(c, ctx, func(ctx context.Context, token string) (UserPage, error) { return c.e.ListUsers(ctx, token, q) })
}

// ResetPassword asks for a password reset; see [Engine.ResetPassword].
func (c *Client) ResetPassword(ctx context.Context, email string) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.ResetPassword(ctx, token, email) })
}

// UploadFile creates and writes a file in one call; see [Engine.UploadFile].
func (c *Client) UploadFile(ctx context.Context, f NewFile, r io.Reader) (File, error) {
	return call(c, ctx, func(ctx context.Context, token string) (File, error) { return c.e.UploadFile(ctx, token, f, r) })
}

// CreateFile reserves a file for a two-phase upload; see [Engine.CreateFile].
func (c *Client) CreateFile(ctx context.Context, f NewFile) (File, error) {
	return call(c, ctx, func(ctx context.Context, token string) (File, error) { return c.e.CreateFile(ctx, token, f) })
}

// WriteFile stores the bytes of a pending file; see [Engine.WriteFile]. It is not retried after a renewal when r was partly read.
func (c *Client) WriteFile(ctx context.Context, uid string, r io.Reader) (File, error) {
	return call(c, ctx, func(ctx context.Context, token string) (File, error) { return c.e.WriteFile(ctx, token, uid, r) })
}

// OpenFile opens a file for reading; see [Engine.OpenFile].
func (c *Client) OpenFile(ctx context.Context, uid string) (io.ReadSeekCloser, File, error) {
	var rc io.ReadSeekCloser
	var f File
	err := c.Do(ctx, func(ctx context.Context, token string) (err error) {
		rc, f, err = c.e.OpenFile(ctx, token, uid)
		return err
	})
	return rc, f, err
}

// File returns the details of a file; see [Engine.File].
func (c *Client) File(ctx context.Context, uid string) (File, error) {
	return call(c, ctx, func(ctx context.Context, token string) (File, error) { return c.e.File(ctx, token, uid) })
}

// FileByID looks a file up by id; see [Engine.FileByID].
func (c *Client) FileByID(ctx context.Context, id int64) (File, error) {
	return call(c, ctx, func(ctx context.Context, token string) (File, error) { return c.e.FileByID(ctx, token, id) })
}

// Files lists the session user's own files; see [Engine.Files].
func (c *Client) Files(ctx context.Context, p Page) (FilePage, error) {
	return call(c, ctx, func(ctx context.Context, token string) (FilePage, error) { return c.e.Files(ctx, token, p) })
}

// RenameFile renames a file; see [Engine.RenameFile].
func (c *Client) RenameFile(ctx context.Context, uid, name string) (File, error) {
	return call(c, ctx, func(ctx context.Context, token string) (File, error) { return c.e.RenameFile(ctx, token, uid, name) })
}

// DeleteFile deletes a file; see [Engine.DeleteFile].
func (c *Client) DeleteFile(ctx context.Context, uid string) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.DeleteFile(ctx, token, uid) })
}

// ConfirmPasswordReset sets a new password with a reset token; see
// [Engine.ConfirmPasswordReset]. It needs no session, and does not sign the client in.
func (c *Client) ConfirmPasswordReset(ctx context.Context, resetToken, newPassword string) error {
	return c.e.ConfirmPasswordReset(ctx, resetToken, newPassword)
}

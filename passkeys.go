package authcube

import (
	"context"

	"github.com/authcube/authcube/store"
)

// PasskeyStore returns the engine's store's store.Passkeys ability, for package passkey (which
// keeps WebAuthn parsing out of this package), and false when the store has none. Both
// bundled stores have it.
func (e *Engine) PasskeyStore() (store.Passkeys, bool) {
	p, ok := e.store.(store.Passkeys)
	return p, ok
}

// HasPassword reports whether the user of token (a user session) has a password of their own,
// so that a sign-in method is never removed when it is the last way in. ErrUnauthorized for a
// dead token, ErrForbidden for an application session.
func (e *Engine) HasPassword(ctx context.Context, token string) (bool, error) {
	s, err := e.Session(ctx, token)
	if err != nil {
		return false, err
	}
	if !s.IsUser() {
		return false, ErrForbidden
	}
	u, err := e.store.User(ctx, s.UserID)
	if err != nil {
		return false, storeErr("has password", err)
	}
	return u.PasswordHash != "", nil
}

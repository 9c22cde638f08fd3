package authcube

import (
	"context"
	"errors"
	"time"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/store"
)

// linkByEmail finds the user of (provider, subject), or else links that identity to the local
// user whose canonical email is emailCanon (Config.LinkVerifiedEmail; the caller has checked
// that the provider verified it). ok is false when neither exists.
func (e *Engine) linkByEmail(ctx context.Context, provider, subject, emailCanon string) (store.User, bool, error) {
	l, ok := e.store.(store.Linker)
	if !ok {
		return store.User{}, false, nil
	}
	u, err := e.store.UserByIdentity(ctx, provider, subject)
	if err == nil {
		return u, true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, err
	}
	u, err = e.store.UserByEmail(ctx, emailCanon)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	}
	if err != nil {
		return store.User{}, false, err
	}
	err = l.LinkIdentity(ctx, u.ID, provider, subject, e.now())
	var ce *store.ConflictError
	if errors.As(err, &ce) { // the same subject signing in at once elsewhere won
		u, err = e.store.UserByIdentity(ctx, provider, subject)
	}
	if err != nil {
		return store.User{}, false, err
	}
	return u, true, nil
}

// linker returns the store's Linker ability or an internal error naming op.
func (e *Engine) linker(op string) (store.Linker, error) {
	l, ok := e.store.(store.Linker)
	if !ok {
		return nil, internal(op, errors.New("authcube: the store cannot link identities"))
	}
	return l, nil
}

// LinkIdentity links the identity of a provider token (c.Provider and c.Token, verified by
// Config.Providers as a sign-in would) to the signed-in user of token, so that the user can
// sign in with that provider too. ErrUnauthorized for a dead token, ErrForbidden for an
// application session, ErrInvalid for a provider that is not configured (or "passkey", which
// is linked by registering a passkey), ErrInvalidCredentials for a token the provider refuses,
// and ErrConflict (field "identity") when that identity already belongs to a user, this one
// included. Linking is not throttled: a provider token cannot be guessed.
func (e *Engine) LinkIdentity(ctx context.Context, token string, c Credentials) error {
	const op = "link identity"
	verifier, ok := e.cfg.Providers[c.Provider]
	if !ok || c.Provider == store.PasskeyProvider {
		return invalid(op, "provider", "is not configured for linking")
	}
	if c.Token == "" || len(c.Token) > maxProviderSecret {
		return invalid(op, "token", "is required, at most 8 KiB")
	}
	l, err := e.linker(op)
	if err != nil {
		return err
	}
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	claims, err := verifier.VerifyToken(ctx, c.Token)
	if err != nil || claims.Subject == "" {
		ie := errorFor(ErrInvalidCredentials, op, "")
		if err != nil && !errors.Is(err, identity.ErrRejected) {
			ie.Err = scrubSecret(err, c.Token) // a verifier may quote what it refused (S28)
		}
		return ie
	}
	if err := l.LinkIdentity(ctx, s.UserID, c.Provider, claims.Subject, e.now()); err != nil {
		return storeErr(op, err)
	}
	return nil
}

// UnlinkIdentity removes the signed-in user's identity at provider. It never removes the last
// way in: with no password and no other identity (a passkey counts as one) it is ErrInvalid
// (field "provider"). Passkeys are removed through package passkey, not here. ErrNotFound when
// the user has no identity at provider.
func (e *Engine) UnlinkIdentity(ctx context.Context, token, provider string) error {
	const op = "unlink identity"
	if provider == store.PasskeyProvider {
		return invalid(op, "provider", "remove passkeys one by one instead")
	}
	l, err := e.linker(op)
	if err != nil {
		return err
	}
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	u, err := e.store.User(ctx, s.UserID)
	if err != nil {
		return storeErr(op, err)
	}
	ids, err := l.UserIdentities(ctx, s.UserID)
	if err != nil {
		return storeErr(op, err)
	}
	found, others := false, 0
	for _, id := range ids {
		if id.Provider == provider {
			found = true
		} else {
			others++
		}
	}
	if !found {
		return errorFor(ErrNotFound, op, "provider")
	}
	if u.PasswordHash == "" && others == 0 {
		return invalid(op, "provider", "is the last way to sign in: set a password or link another provider first")
	}
	return storeErr(op, l.UnlinkIdentity(ctx, s.UserID, provider))
}

// LinkedIdentity is one provider a user can sign in with.
type LinkedIdentity struct {
	Provider string
	LinkedAt time.Time
}

// Identities returns the providers the signed-in user of token can sign in with, by name
// ("passkey" while the user has passkeys). The subjects are not returned.
func (e *Engine) Identities(ctx context.Context, token string) ([]LinkedIdentity, error) {
	const op = "identities"
	l, err := e.linker(op)
	if err != nil {
		return nil, err
	}
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return nil, err
	}
	defer done()
	ids, err := l.UserIdentities(ctx, s.UserID)
	if err != nil {
		return nil, storeErr(op, err)
	}
	out := make([]LinkedIdentity, 0, len(ids))
	for _, id := range ids {
		out = append(out, LinkedIdentity{Provider: id.Provider, LinkedAt: id.CreatedAt})
	}
	return out, nil
}

// HasPassword reports whether the signed-in user has a password; see [Engine.HasPassword].
func (c *Client) HasPassword(ctx context.Context) (bool, error) {
	return call(c, ctx, func(ctx context.Context, token string) (bool, error) { return c.e.HasPassword(ctx, token) })
}

// LinkIdentity links a provider's identity to the signed-in user; see [Engine.LinkIdentity].
func (c *Client) LinkIdentity(ctx context.Context, cr Credentials) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.LinkIdentity(ctx, token, cr) })
}

// UnlinkIdentity removes one of the signed-in user's identities; see [Engine.UnlinkIdentity].
func (c *Client) UnlinkIdentity(ctx context.Context, provider string) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.UnlinkIdentity(ctx, token, provider) })
}

// Identities lists the providers the signed-in user can sign in with; see [Engine.Identities].
func (c *Client) Identities(ctx context.Context) ([]LinkedIdentity, error) {
	return call(c, ctx, func(ctx context.Context, token string) ([]LinkedIdentity, error) { return c.e.Identities(ctx, token) })
}

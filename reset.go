package authcube

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// DefaultResetTTL is the lifetime of a password-reset token.
const DefaultResetTTL = time.Hour

// ResetPassword asks for a password reset for the account with the email. It validates the
// address (ErrInvalid when it is not one) and queues the rest — the look-up, a reset token and
// the mail to the stored address — so the answer and its timing are the same whether or not an
// account has that address (S18). Any live session may ask. Requests are throttled per address.
// The mail carries Config.ResetURL with the token, or the bare token.
func (e *Engine) ResetPassword(ctx context.Context, token, email string) error {
	const op = "reset password"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	_, key, err := canon.Email(email)
	if err != nil {
		return invalidFrom(op, err)
	}
	// Every request counts against the address: a flood of reset mail is refused, for unknown
	// addresses as well (so the refusal tells nothing).
	tkey := e.accountKey("reset", key)
	if err := e.throttle.reserve(ctx, op, email, "password", tkey); err != nil {
		return err
	}
	e.throttle.finish(context.WithoutCancel(ctx), false, tkey)
	if err := e.queueMail(ctx, mailJob{emailCanon: key}); err != nil {
		return storeErr(op, err)
	}
	e.emit(Event{Kind: PasswordResetRequested, SessionID: s.ID, Login: email})
	return nil
}

// ConfirmPasswordReset sets a new password with a reset token from a reset mail. It needs no
// session and does not sign in. The password follows the rules of sign-up (S1-S3). All the
// user's sessions end, the token and every other pending one are void, and the user gets a
// MessagePasswordChanged. A token that is malformed, unknown, expired, used, superseded by a
// newer one, or issued before an email or password change is ErrInvalid with Field
// "reset_token"; of concurrent confirmations of one token exactly one succeeds. Failed
// attempts are throttled per token and, when ctx carries the client's address
// ([WithClientAddr]), per client address too (ErrThrottled).
func (e *Engine) ConfirmPasswordReset(ctx context.Context, resetToken, newPassword string) error {
	const op = "confirm password reset"
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.done()
	badToken := invalid(op, "reset_token", "is invalid or has expired")
	hash, ok := tokenHash(resetToken)
	if !ok {
		return badToken
	}
	// Reset tokens carry 256 random bits, so guessing is hopeless; repeated attempts with one
	// token still go through the throttle, like every way in, and so do the attempts of one
	// client (WithClientAddr) over many tokens.
	keys := []throttleKey{e.accountKey("reset-token", string(hash[:16]))}
	if ck, ok := e.clientKey(clientAddrFrom(ctx)); ok {
		keys = append(keys, ck)
	}
	if err := e.throttle.reserve(ctx, op, "", "password", keys...); err != nil {
		return err
	}
	success := false
	defer func() { e.throttle.finish(context.WithoutCancel(ctx), success, keys...) }()

	now := e.now()
	rt, err := e.store.ResetToken(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return badToken
	}
	if err != nil {
		return storeErr(op, err)
	}
	u, err := e.store.User(ctx, rt.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return badToken
	}
	if err != nil {
		return storeErr(op, err)
	}
	password, err := e.checkNewPassword(op, "password", newPassword, u.Login, u.Email)
	if err != nil {
		success = true // a weak password is not a failed guess
		return err
	}
	newHash, err := e.hasher.hash(ctx, password)
	if err != nil {
		return internal(op, err)
	}
	userID, revoked, err := e.store.ConsumeResetToken(ctx, hash, now, newHash)
	e.revoked(revoked...)
	if errors.Is(err, store.ErrNotFound) { // another confirmation won, or the token went
		return badToken
	}
	if err != nil {
		return storeErr(op, err)
	}
	success = true
	e.emit(Event{Kind: PasswordReset, UserID: userID, At: now})
	e.notify(ctx, MessagePasswordChanged, u.ID, u.Email)
	return nil
}

// sendReset does the work of a reset request off the caller's path: the look-up, a new token
// (voiding older ones) and the mail to the stored address. An unknown address sends nothing.
func (e *Engine) sendReset(ctx context.Context, emailCanon string) error {
	u, err := e.store.UserByEmail(ctx, emailCanon)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	token, hash, err := e.newToken()
	if err != nil {
		return err
	}
	now := e.now()
	rt := store.ResetToken{TokenHash: hash, UserID: u.ID, EmailCanon: u.EmailCanon, CreatedAt: now, ExpiresAt: now.Add(e.cfg.ResetTTL)}
	if err := e.store.CreateResetToken(ctx, rt); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted meanwhile
		}
		return err
	}
	m := Message{
		Kind: MessagePasswordReset, UserID: u.ID, From: e.cfg.MailFrom, To: u.Email, Token: token,
		Subject: "Reset your password",
	}
	valid := "within " + inWords(e.cfg.ResetTTL)
	if e.cfg.ResetURL != "" {
		m.Link = strings.ReplaceAll(e.cfg.ResetURL, "{token}", url.QueryEscape(token))
		m.Text = "Someone asked to reset the password of your account.\n\n" +
			"To choose a new password, open this link " + valid + ":\n" + m.Link + "\n\n" +
			"If it was not you, ignore this message: your password stays as it is.\n"
	} else {
		m.Text = "Someone asked to reset the password of your account.\n\n" +
			"To choose a new password, use this reset code " + valid + ":\n" + token + "\n\n" +
			"If it was not you, ignore this message: your password stays as it is.\n"
	}
	return scrubSecret(e.cfg.Mailer.Send(ctx, m), token) // a Mailer may quote what it failed to send (S28)
}

// inWords writes d for people: "1 hour", "30 minutes", "1 day 2 hours 5 minutes". Parts below
// a second are dropped, so a mail never promises more time than the token has.
func inWords(d time.Duration) string {
	secs := int64(d / time.Second)
	var parts []string
	for _, u := range []struct {
		name string
		secs int64
	}{{"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}} {
		n := secs / u.secs
		secs %= u.secs
		switch {
		case n == 1:
			parts = append(parts, "1 "+u.name)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", n, u.name))
		}
	}
	if len(parts) == 0 {
		return "less than a second"
	}
	return strings.Join(parts, " ")
}

package authcube

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// EmailVerification is what the engine does about unverified email addresses
// (Config.EmailVerification).
type EmailVerification int

// The choices of Config.EmailVerification.
const (
	EmailVerifyOff     EmailVerification = iota // mail nothing (the default)
	EmailVerifySend                             // mail a verification link at sign-up and at an email change
	EmailVerifyRequire                          // as Send, and refuse password sign-ins of unverified addresses
)

const (
	// VerifyEmailTTL is how long a verification link stays valid.
	VerifyEmailTTL = 24 * time.Hour
	// SignInCodeTTL is how long a sign-in code stays valid.
	SignInCodeTTL = 10 * time.Minute
	// signInCodeDigits is the length of a sign-in code.
	signInCodeDigits = 6

	purposeVerify = "verify"
	purposeSignIn = "signin"
	// providerEmailCode names sign-ins with a mailed code in events and sessions.
	providerEmailCode = "email_code"
)

// emailCodes returns the store's EmailCodes ability, or nil when it has none.
func (e *Engine) emailCodes() store.EmailCodes {
	ec, _ := e.store.(store.EmailCodes)
	return ec
}

// sendVerification mails a verification link to the user's address when
// Config.EmailVerification asks for it. It runs after the change committed: a failure is
// logged, and SendEmailVerification sends another.
func (e *Engine) sendVerification(ctx context.Context, u store.User) {
	if e.cfg.EmailVerification == EmailVerifyOff || u.Email == "" {
		return
	}
	if err := e.mailVerification(ctx, u); err != nil {
		e.log.Error("authcube: queueing a verification mail", "user_id", u.ID, "err", err)
	}
}

// mailVerification stores a verification token for u's current address (voiding older ones)
// and queues the mail.
func (e *Engine) mailVerification(ctx context.Context, u store.User) error {
	ec := e.emailCodes()
	if ec == nil {
		return errors.New("authcube: the store cannot keep email codes")
	}
	token, hash, err := e.newToken()
	if err != nil {
		return err
	}
	now := e.now()
	c := store.EmailCode{Hash: hash, UserID: u.ID, EmailCanon: u.EmailCanon, Purpose: purposeVerify, CreatedAt: now, ExpiresAt: now.Add(VerifyEmailTTL)}
	if err := ec.CreateEmailCode(ctx, c); err != nil {
		return err
	}
	m := Message{Kind: MessageVerifyEmail, UserID: u.ID, From: e.cfg.MailFrom, To: u.Email, Token: token,
		Subject: "Confirm your email address"}
	valid := "within " + inWords(VerifyEmailTTL)
	if e.cfg.VerifyEmailURL != "" {
		m.Link = strings.ReplaceAll(e.cfg.VerifyEmailURL, "{token}", url.QueryEscape(token))
		m.Text = "Please confirm that this is your email address by opening this link " + valid + ":\n" +
			m.Link + "\n\nIf you did not ask for an account, ignore this message.\n"
	} else {
		m.Text = "Please confirm that this is your email address with this code " + valid + ":\n" +
			token + "\n\nIf you did not ask for an account, ignore this message.\n"
	}
	return e.queueMail(context.WithoutCancel(ctx), mailJob{msg: m})
}

// SendEmailVerification mails a new verification link to the address of the user of token (a
// user session), voiding earlier links; a user whose address is verified already, or who has
// none, gets nothing. Requests are throttled per user.
func (e *Engine) SendEmailVerification(ctx context.Context, token string) error {
	const op = "send email verification"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	u, err := e.store.User(ctx, s.UserID)
	if err != nil {
		return storeErr(op, err)
	}
	if u.Email == "" || !u.EmailVerifiedAt.IsZero() {
		return nil
	}
	key := e.accountKey("verify-request", u.EmailCanon)
	if err := e.throttle.reserve(ctx, op, u.Email, "email", key); err != nil {
		return err
	}
	e.throttle.finish(context.WithoutCancel(ctx), false, key) // every request counts
	if err := e.mailVerification(ctx, u); err != nil {
		return storeErr(op, err)
	}
	return nil
}

// VerifyEmail confirms an address with the token of a verification mail. It needs no session.
// The token is single use and lives VerifyEmailTTL; one sent to an address the user no longer
// has is void. A malformed, unknown, used, expired or void token is ErrInvalid with Field
// "verify_token".
func (e *Engine) VerifyEmail(ctx context.Context, verifyToken string) error {
	const op = "verify email"
	if err := e.begin(op); err != nil {
		return err
	}
	defer e.done()
	ec := e.emailCodes()
	bad := invalid(op, "verify_token", "is invalid or has expired")
	hash, ok := tokenHash(verifyToken)
	if !ok || ec == nil {
		return bad
	}
	key := e.accountKey("verify-token", string(hash[:16]))
	if err := e.throttle.reserve(ctx, op, "", "email", key); err != nil {
		return err
	}
	success := false
	defer func() { e.throttle.finish(context.WithoutCancel(ctx), success, key) }()
	c, err := ec.ConsumeEmailCode(ctx, hash, purposeVerify, e.now())
	if errors.Is(err, store.ErrNotFound) {
		return bad
	}
	if err != nil {
		return storeErr(op, err)
	}
	success = true
	e.emit(Event{Kind: EmailVerified, UserID: c.UserID, Provider: "email"})
	return nil
}

// RequestSignInCode mails a one-time sign-in code (6 digits, valid SignInCodeTTL, 10 minutes)
// and, with Config.SignInCodeURL, a link, to c.Email (Config.SignInCodes must be on; ErrInvalid
// otherwise). Like ResetPassword it answers the same, as fast, whether or not an account has
// the address (S18): the look-up and the mail run in the background, and an unknown or disabled
// account gets nothing. Requests are throttled per address and per client (c.ClientAddr). A new
// code voids the previous one. Sign in with Credentials{Email, Code}.
func (e *Engine) RequestSignInCode(ctx context.Context, token string, c Credentials) error {
	const op = "request sign in code"
	s, done, err := e.enter(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	if !e.cfg.SignInCodes || e.emailCodes() == nil {
		return invalid(op, "code", "sign-in codes are not enabled")
	}
	if len(c.Email) > maxEmailInput {
		return invalid(op, "email", "must be at most 254 characters")
	}
	_, key, err := canon.Email(c.Email)
	if err != nil {
		return invalidFrom(op, err)
	}
	addr, err := parseClientAddr(op, c.ClientAddr)
	if err != nil {
		return err
	}
	keys := []throttleKey{e.accountKey("signin-code-request", key)}
	if ck, ok := e.clientKey(addr); ok {
		keys = append(keys, ck)
	}
	if err := e.throttle.reserve(ctx, op, c.Email, providerEmailCode, keys...); err != nil {
		return err
	}
	e.throttle.finish(context.WithoutCancel(ctx), false, keys...) // every request counts
	if err := e.queueMail(ctx, mailJob{signInCode: key}); err != nil {
		return storeErr(op, err)
	}
	e.emit(Event{Kind: SignInCodeRequested, SessionID: s.ID, Login: logLogin(c.Email), Provider: providerEmailCode})
	return nil
}

// signInCodeHash is the stored digest of a sign-in code: keyed (by a key derived from the
// device key) and bound to the address, so a copy of the database does not give the codes
// away by trying the million of them.
func (e *Engine) signInCodeHash(emailCanon, code string) [32]byte {
	m := hmac.New(sha256.New, e.deviceKey)
	m.Write([]byte("authcube sign-in code\x00" + emailCanon + "\x00" + code))
	var h [32]byte
	copy(h[:], m.Sum(nil))
	return h
}

// newSignInCode returns a uniformly random code of signInCodeDigits digits.
func (e *Engine) newSignInCode() (string, error) {
	const limit = 1_000_000
	var b [4]byte
	for {
		if err := e.readRand(b[:]); err != nil {
			return "", err
		}
		v := binary.BigEndian.Uint32(b[:])
		if v < (1<<32)/limit*limit { // no modulo bias
			return fmt.Sprintf("%0*d", signInCodeDigits, v%limit), nil
		}
	}
}

// sendSignInCode does the work of a code request off the caller's path.
func (e *Engine) sendSignInCode(ctx context.Context, emailCanon string) error {
	ec := e.emailCodes()
	u, err := e.store.UserByEmail(ctx, emailCanon)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) || ec == nil {
		return nil
	}
	if err != nil {
		return err
	}
	code, err := e.newSignInCode()
	if err != nil {
		return err
	}
	now := e.now()
	c := store.EmailCode{Hash: e.signInCodeHash(u.EmailCanon, code), UserID: u.ID, EmailCanon: u.EmailCanon,
		Purpose: purposeSignIn, CreatedAt: now, ExpiresAt: now.Add(SignInCodeTTL)}
	if err := ec.CreateEmailCode(ctx, c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	m := Message{Kind: MessageSignInCode, UserID: u.ID, From: e.cfg.MailFrom, To: u.Email, Token: code,
		Subject: "Your sign-in code"}
	valid := "within " + inWords(SignInCodeTTL)
	m.Text = "Your sign-in code is " + code + ". Use it " + valid + ".\n"
	if e.cfg.SignInCodeURL != "" {
		m.Link = strings.NewReplacer("{email}", url.QueryEscape(u.Email), "{code}", code).Replace(e.cfg.SignInCodeURL)
		m.Text += "\nOr open this link:\n" + m.Link + "\n"
	}
	m.Text += "\nIf you did not ask for it, ignore this message.\n"
	return scrubSecret(e.cfg.Mailer.Send(ctx, m), code)
}

// checkEmailCode signs in with a mailed code: Credentials{Email, Code}. The attempt is
// throttled per address and per client as a password is; the code is single use and verifies
// the address (S40).
func (e *Engine) checkEmailCode(ctx context.Context, op string, c Credentials, addr netip.Addr) (store.User, firstFactor, error) {
	ec := e.emailCodes()
	switch {
	case !e.cfg.SignInCodes || ec == nil:
		return store.User{}, firstFactor{}, invalid(op, "code", "sign-in codes are not enabled")
	case c.Email == "":
		return store.User{}, firstFactor{}, invalid(op, "email", "is required with a code")
	case c.Login != "" || c.Password != "" || c.Provider != "" || c.Token != "":
		return store.User{}, firstFactor{}, invalid(op, "code", "give an email and a code only")
	case len(c.Email) > maxEmailInput:
		return store.User{}, firstFactor{}, invalid(op, "email", "must be at most 254 characters")
	}
	key := canon.Fold(c.Email)
	if _, k, err := canon.Email(c.Email); err == nil {
		key = k
	}
	keys := []throttleKey{e.accountKey("signin-code", key)}
	if ck, ok := e.clientKey(addr); ok {
		keys = append(keys, ck)
	}
	a, err := e.attempt(ctx, op, c.Email, providerEmailCode, keys...)
	if err != nil {
		return store.User{}, firstFactor{}, err
	}
	defer a.finish()
	code := strings.TrimSpace(c.Code)
	if len(code) != signInCodeDigits {
		return a.fail(nil)
	}
	got, err := ec.ConsumeEmailCode(ctx, e.signInCodeHash(key, code), purposeSignIn, e.now())
	if errors.Is(err, store.ErrNotFound) {
		return a.fail(nil)
	}
	if err != nil {
		return a.fail(err) // fail closed (S29)
	}
	u, err := e.store.User(ctx, got.UserID)
	if err != nil {
		return a.fail(err)
	}
	return a.succeed(u)
}

// SendEmailVerification mails a new verification link to the client's user; see
// [Engine.SendEmailVerification].
func (c *Client) SendEmailVerification(ctx context.Context) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.SendEmailVerification(ctx, token) })
}

// RequestSignInCode mails a sign-in code; see [Engine.RequestSignInCode]. Sign in with
// Client.SignIn(ctx, Credentials{Email, Code}).
func (c *Client) RequestSignInCode(ctx context.Context, cr Credentials) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.RequestSignInCode(ctx, token, cr) })
}

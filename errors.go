package authcube

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// Code is the machine-readable kind of an [Error]. Codes are stable strings; match them with
// errors.Is against the sentinels (ErrUnauthorized, ...) rather than comparing messages.
type Code string

// The codes of [Error].
const (
	CodeUnauthorized         Code = "unauthorized"
	CodeInvalidCredentials   Code = "invalid_credentials"
	CodeForbidden            Code = "forbidden"
	CodeNotFound             Code = "not_found"
	CodeConflict             Code = "conflict"
	CodeInvalid              Code = "invalid"
	CodeThrottled            Code = "throttled"
	CodeLocked               Code = "locked"
	CodeClosed               Code = "closed"
	CodeUserDisabled         Code = "user_disabled"
	CodeSecondFactorRequired Code = "second_factor_required"
	CodeEmailNotVerified     Code = "email_not_verified"
	CodeInternal             Code = "internal"
)

// Error is the concrete type of every error the engine returns. Match it with errors.Is against
// the sentinels below, or with errors.As for Field, Message and RetryAfter.
type Error struct {
	Code       Code
	Op         string        // the operation that failed: "sign up", "sign in", ...
	Field      string        // the field at fault, one name per field: a user field's Field name ("login", "user_tags", ...), "password", "old_password", ...
	Message    string        // safe to show an end user
	RetryAfter time.Duration // with CodeThrottled: when to try again
	Err        error         // the cause, for logs; never shown to end users
	// Challenge is set on ErrSecondFactorRequired: pass it to Engine.CompleteSignIn with the
	// user's code. It is a secret of that sign-in: Error() never shows it.
	Challenge string `json:"-"`
}

// Error returns "authcube: OP: FIELD: MESSAGE: CAUSE", leaving out the parts that are empty, as
// fs.PathError shows its cause: "authcube: open: internal error: ..." says what went wrong. The
// cause is for logs and operators; show end users Message alone. No cause the engine sets holds
// a password or a token (S28).
func (e *Error) Error() string {
	s := "authcube: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrConflict) holds for every conflict, whatever its field.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// The sentinels, one per [Code] that callers act on.
var (
	// ErrUnauthorized: the token is missing, malformed, unknown, destroyed, revoked or expired.
	// Its cause (errors.Is) says which: ErrSessionExpired or ErrSessionRevoked.
	ErrUnauthorized error = &Error{Code: CodeUnauthorized, Message: "session does not exist or has expired"}
	// ErrInvalidCredentials: a sign-in failed, for any reason (one error, one message), or an
	// OldPassword was wrong (Field "old_password").
	ErrInvalidCredentials error = &Error{Code: CodeInvalidCredentials, Message: "invalid login or password"}
	// ErrForbidden: an application session tried a user write, or a user touched what is not theirs.
	ErrForbidden error = &Error{Code: CodeForbidden, Message: "not allowed"}
	// ErrNotFound: a unique look-up, a file or a session id found nothing.
	ErrNotFound error = &Error{Code: CodeNotFound, Message: "not found"}
	// ErrConflict: a login or email is already taken; Field says which.
	ErrConflict error = &Error{Code: CodeConflict, Message: "already taken"}
	// ErrInvalid: bad input; Field and Message say which and why.
	ErrInvalid error = &Error{Code: CodeInvalid, Message: "invalid input"}
	// ErrThrottled: too many failures; RetryAfter says when to try again.
	ErrThrottled error = &Error{Code: CodeThrottled, Message: "too many attempts, try again later"}
	// ErrLocked: the directory is in use by another engine, in this process or another.
	ErrLocked error = &Error{Code: CodeLocked, Message: "directory is in use by another engine"}
	// ErrClosed: the engine is closed.
	ErrClosed error = &Error{Code: CodeClosed, Message: "engine is closed"}
	// ErrUserDisabled: the credentials were right, but the user is disabled ([Admin.DisableUser]).
	// Wrong credentials for a disabled user are ErrInvalidCredentials, as for anyone: only the
	// user's own password (or provider token) learns that the account is disabled. The attempt
	// counts as a failure for throttling.
	ErrUserDisabled error = &Error{Code: CodeUserDisabled, Message: "account disabled"}
	// ErrSecondFactorRequired: the first factor (password, provider token) was right and the
	// user has a second factor (TOTP): the *Error carries Challenge, which
	// [Engine.CompleteSignIn] takes with a TOTP or recovery code to sign in. No session was
	// created or signed in. Only a right first factor gets it (S39).
	ErrSecondFactorRequired error = &Error{Code: CodeSecondFactorRequired, Message: "a second factor is required"}
	// ErrEmailNotVerified: the password was right, but Config.EmailVerification is
	// EmailVerifyRequire and the user's email is not verified yet (Field "email"). Only the
	// right password learns it (S40). VerifyEmail, or a sign-in code, verifies it.
	ErrEmailNotVerified error = &Error{Code: CodeEmailNotVerified, Message: "email address not verified; follow the link we mailed you"}
)

// The causes of an ErrUnauthorized (S33), plain errors for errors.Is:
// errors.Is(err, ErrUnauthorized) holds for both, and errors.Is(err, ErrSessionRevoked) for a
// revoked session only. REST answers both alike (401).
var (
	// ErrSessionExpired: the token is missing, malformed, unknown or expired. Creating a new
	// session (and signing in again) is the remedy; a Client renews.
	ErrSessionExpired = errors.New("session expired or unknown")
	// ErrSessionRevoked: the session was ended on purpose: destroyed (DestroySession), revoked
	// (RevokeSession), or ended by a password change on another session, a password reset or
	// the user's deletion. The act is final: a Client does not renew the session, and drops its
	// kept credentials. The engine tells a revoked token from an expired one for as long as the
	// session could have lived (SessionMaxAge after its sign-in, or creation for an application
	// session), across restarts; after that it reads as expired.
	ErrSessionRevoked = errors.New("session revoked")
)

// unauthorized is ErrUnauthorized for op with its cause, ErrSessionExpired or ErrSessionRevoked.
func unauthorized(op string, cause error) *Error {
	err := errorFor(ErrUnauthorized, op, "")
	err.Err = cause
	return err
}

// errorFor copies the sentinel of code with the operation and field filled in.
func errorFor(sentinel error, op, field string) *Error {
	e := *sentinel.(*Error)
	e.Op, e.Field = op, field
	return &e
}

// invalid is an ErrInvalid for field with a reason.
func invalid(op, field, reason string) error {
	return &Error{Code: CodeInvalid, Op: op, Field: field, Message: reason}
}

// internal wraps an unexpected cause: callers see a generic message, logs see the cause.
func internal(op string, err error) error {
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return &Error{Code: CodeInternal, Op: op, Message: "internal error", Err: err}
}

// scrubbed is a provider's error with the secrets it was given cut out of its text (S28): a
// custom verifier may quote the token or password it refused, and the text of a cause reaches
// Error(), events and logs. It matches what the original matched (errors.Is) without handing
// the original out, so no Unwrap can reach the secret.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string        { return s.msg }
func (s *scrubbed) Is(target error) bool { return errors.Is(s.err, target) }

// scrubSecret returns err, or a scrubbed copy when its text holds secret: as given, escaped for
// a URL query or path, or, split at dots (a JWT's header, payload and signature), any piece of 8
// bytes or more.
func scrubSecret(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	msg := err.Error()
	pieces := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	for _, p := range strings.Split(secret, ".") {
		if len(p) >= 8 {
			pieces = append(pieces, p)
		}
	}
	leaked := false
	for _, p := range pieces {
		if strings.Contains(msg, p) {
			msg, leaked = strings.ReplaceAll(msg, p, "[REDACTED]"), true
		}
	}
	if !leaked {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

// storeErr maps a store error to the public one: not found and conflicts keep their meaning,
// anything else is internal (and denies: S29).
func storeErr(op string, err error) error {
	var ce *store.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return errorFor(ErrNotFound, op, "")
	case errors.As(err, &ce):
		return errorFor(ErrConflict, op, ce.Field)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeInternal, Op: op, Message: "request cancelled", Err: err}
	}
	return internal(op, err)
}

// invalidFrom maps a validation error of internal/canon to ErrInvalid.
func invalidFrom(op string, err error) error {
	var ce *canon.Error
	if errors.As(err, &ce) {
		return invalid(op, ce.Field, ce.Reason)
	}
	return internal(op, err)
}

package authcube

import (
	"context"
	"log/slog"
	"strconv"
	"time"
)

// Event reports something that happened to a session or a user. Events are delivered to
// Config.OnEvent after the change has committed, on the goroutine of the call that caused it,
// with no engine lock held. Events never carry passwords or tokens.
type Event struct {
	Kind      EventKind
	SessionID string
	UserID    int64
	Login     string // the login or email tried, on SignInFailed and SignInThrottled; at most 256 bytes of it (S30)
	Provider  string // "password", "firebase_phone", a custom provider name, ...
	At        time.Time
	Err       error // on failures
	// Admin reports a change made through [Admin] (trusted server code, no session).
	Admin bool
}

// EventKind says what an [Event] reports.
type EventKind int

// The kinds of [Event]. SessionRenewed and SessionRenewFailed come from a Client; the engine
// emits SessionExpired the first time an expired token is used. SessionRevoked comes from the
// engine (RevokeSession) and from a Client, to its listener, when its session was ended
// elsewhere (Err matches ErrSessionRevoked).
const (
	SessionCreated EventKind = iota + 1
	SignedIn
	SignedOut
	SessionRenewed
	SessionRenewFailed
	SessionExpired
	SessionDestroyed
	SessionRevoked
	SignInFailed
	SignInThrottled
	UserCreated
	UserUpdated
	UserDeleted
	PasswordChanged
	PasswordResetRequested
	PasswordReset
	UserDisabled // by Admin.DisableUser; the user's sessions ended with it
	UserEnabled  // by Admin.EnableUser
	UsersImported
	TOTPEnrolled             // EnrollTOTP: an enrolment pending its first code
	TOTPConfirmed            // ConfirmTOTP: the second factor is on
	TOTPDisabled             // DisableTOTP
	RecoveryCodesRegenerated // RegenerateRecoveryCodes
	SecondFactorRequired     // a right first factor got a challenge
	SecondFactorPassed       // CompleteSignIn accepted a code
	SecondFactorFailed       // a wrong, replayed or used code, or an unknown challenge
	RecoveryCodeUsed         // CompleteSignIn accepted a recovery code
	EmailVerified            // VerifyEmail confirmed the user's address
	SignInCodeRequested      // RequestSignInCode, for any address (Login holds it)
)

var eventNames = [...]string{
	SessionCreated: "SessionCreated", SignedIn: "SignedIn", SignedOut: "SignedOut",
	SessionRenewed: "SessionRenewed", SessionRenewFailed: "SessionRenewFailed",
	SessionExpired: "SessionExpired", SessionDestroyed: "SessionDestroyed",
	SessionRevoked: "SessionRevoked", SignInFailed: "SignInFailed", SignInThrottled: "SignInThrottled",
	UserCreated: "UserCreated", UserUpdated: "UserUpdated", UserDeleted: "UserDeleted",
	PasswordChanged: "PasswordChanged", PasswordResetRequested: "PasswordResetRequested",
	PasswordReset: "PasswordReset", UserDisabled: "UserDisabled", UserEnabled: "UserEnabled",
	UsersImported: "UsersImported", TOTPEnrolled: "TOTPEnrolled", TOTPConfirmed: "TOTPConfirmed",
	TOTPDisabled: "TOTPDisabled", RecoveryCodesRegenerated: "RecoveryCodesRegenerated",
	SecondFactorRequired: "SecondFactorRequired", SecondFactorPassed: "SecondFactorPassed",
	SecondFactorFailed: "SecondFactorFailed", RecoveryCodeUsed: "RecoveryCodeUsed",
	EmailVerified: "EmailVerified", SignInCodeRequested: "SignInCodeRequested",
}

// String returns the kind's Go name, such as "SignedIn".
func (k EventKind) String() string {
	if k > 0 && int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// emit delivers ev to Config.OnEvent and logs it (S28). It is called after commit.
func (e *Engine) emit(ev Event) {
	if ev.At.IsZero() {
		ev.At = e.now()
	}
	level := slog.LevelDebug
	if securityEvents[ev.Kind] || ev.Admin {
		level = slog.LevelInfo
	}
	if e.log.Enabled(context.Background(), level) {
		e.logEvent(level, ev)
	}
	if e.cfg.OnEvent != nil {
		e.cfg.OnEvent(ev)
	}
}

// securityEvents are logged at Info (S28); the rest, frequent and routine, at Debug.
var securityEvents = map[EventKind]bool{
	SignedIn: true, SignInFailed: true, SignInThrottled: true, SessionRevoked: true,
	UserDeleted: true, PasswordChanged: true, PasswordResetRequested: true, PasswordReset: true,
	TOTPEnrolled: true, TOTPConfirmed: true, TOTPDisabled: true, RecoveryCodesRegenerated: true,
	SecondFactorRequired: true, SecondFactorPassed: true, SecondFactorFailed: true, RecoveryCodeUsed: true,
	EmailVerified: true, SignInCodeRequested: true,
}

func (e *Engine) logEvent(level slog.Level, ev Event) {
	attrs := []any{"event", ev.Kind.String()}
	if ev.SessionID != "" {
		attrs = append(attrs, "session_id", ev.SessionID)
	}
	if ev.UserID != 0 {
		attrs = append(attrs, "user_id", ev.UserID)
	}
	if ev.Login != "" {
		attrs = append(attrs, "login", ev.Login)
	}
	if ev.Provider != "" {
		attrs = append(attrs, "provider", ev.Provider)
	}
	if ev.Err != nil {
		attrs = append(attrs, "err", ev.Err)
	}
	if ev.Admin {
		attrs = append(attrs, "admin", true)
	}
	e.log.Log(context.Background(), level, "authcube event", attrs...)
}

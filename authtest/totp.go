package authtest

import (
	"time"

	"github.com/pquerna/otp"

	"github.com/authcube/authcube"
	"github.com/pquerna/otp/totp"
)

// TOTPCode returns the TOTP code (6 digits, 30-second steps, SHA-1, as authcube uses) of the
// base32 secret of an authcube.TOTPEnrollment at the time at, as an authenticator app would
// show it then. It panics on a secret that is not base32.
func TOTPCode(secret string, at time.Time) string {
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		panic("authtest: " + err.Error())
	}
	return code
}

// TOTPCode returns the code of secret at the clock's time (see the package's TOTPCode).
func (c *Clock) TOTPCode(secret string) string { return TOTPCode(secret, c.Now()) }

// LastToken returns the Token of the latest message of the kind (a reset or verification
// token, a sign-in code), or "" when none was sent.
func (m *Mailbox) LastToken(kind authcube.MessageKind) string {
	m.flush()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].Kind == kind {
			return m.msgs[i].Token
		}
	}
	return ""
}

// LastVerifyToken returns the token of the latest email verification message, or "".
func (m *Mailbox) LastVerifyToken() string { return m.LastToken(authcube.MessageVerifyEmail) }

// LastSignInCode returns the code of the latest sign-in code message, or "".
func (m *Mailbox) LastSignInCode() string { return m.LastToken(authcube.MessageSignInCode) }

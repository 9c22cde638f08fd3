package authtest

import (
	"time"

	"github.com/pquerna/otp"
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

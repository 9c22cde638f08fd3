package authcube

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"image/png"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// A second factor (S38, S39): TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, as every
// authenticator app reads them) with one-time recovery codes.
//
// The TOTP secret is sealed with AES-256-GCM under a key derived from the engine's device key
// (kept in the store's secrets, or Dir/device.key: see loadDeviceKey), with the user id as
// additional data, so the store, its backups and its exports never hold it in clear, and a
// sealed secret copied to another user does not open. Recovery codes, challenges and the
// codes themselves are stored as SHA-256 digests only.
const (
	totpPeriod        = 30
	totpSkew          = 1 // steps either way (clock drift)
	recoveryCodeCount = 10
	recoveryCodeLen   = 10                                 // characters, from recoveryAlphabet: 50 bits
	recoveryAlphabet  = "abcdefghijklmnopqrstuvwxyz234567" // base32, lower case
	// ChallengeTTL is how long a second-factor challenge waits for its code (S39).
	ChallengeTTL    = 5 * time.Minute
	totpSecretBytes = 20
	maxCodeInput    = 64
)

// TOTPEnrollment is a pending TOTP enrolment: show the URL as a QR code ([TOTPQRCode]) and the
// secret for manual entry, then confirm with a code ([Engine.ConfirmTOTP]). It holds a secret:
// String and LogValue redact it.
type TOTPEnrollment struct {
	Secret string `json:"-"` // base32, for manual entry
	URL    string `json:"-"` // otpauth://totp/... for a QR code; it holds the secret too
}

// String redacts the secret.
func (t TOTPEnrollment) String() string { return "authcube.TOTPEnrollment{[REDACTED]}" }

// GoString redacts the secret.
func (t TOTPEnrollment) GoString() string { return t.String() }

// LogValue redacts the secret.
func (t TOTPEnrollment) LogValue() slog.Value { return slog.StringValue(t.String()) }

// SecondFactorStatus is what [Engine.SecondFactor] reports about the user of a session.
type SecondFactorStatus struct {
	TOTP              bool // a confirmed TOTP enrolment: sign-ins ask for a code
	Pending           bool // an enrolment waits for its first code
	RecoveryCodesLeft int
}

// TOTPQRCode renders an enrolment's URL as a PNG QR code of size×size pixels (at least 64; 0
// means 256), for apps to show beside the secret.
func TOTPQRCode(url string, size int) ([]byte, error) {
	const op = "totp qr code"
	if size == 0 {
		size = 256
	}
	if size < 64 || size > 2048 {
		return nil, invalid(op, "size", "must be 64 to 2048 pixels")
	}
	k, err := otp.NewKeyFromURL(url)
	if err != nil || k.Type() != "totp" {
		return nil, invalid(op, "url", "is not an otpauth://totp URL")
	}
	img, err := k.Image(size, size)
	if err != nil {
		return nil, internal(op, err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, internal(op, err)
	}
	return b.Bytes(), nil
}

// secondFactors returns the store's second-factor ability, or ErrInvalid when it has none.
func (e *Engine) secondFactors(op string) (store.SecondFactors, error) {
	sf, ok := e.store.(store.SecondFactors)
	if !ok {
		return nil, &Error{Code: CodeInvalid, Op: op, Field: "totp", Message: "the store has no second factor support"}
	}
	return sf, nil
}

// totpAEAD is AES-256-GCM under a key derived from the device key.
func (e *Engine) totpAEAD() (cipher.AEAD, error) {
	m := hmac.New(sha256.New, e.deviceKey)
	m.Write([]byte("authcube totp secret key"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func totpAD(userID int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("authcube totp\x00"), uint64(userID))
}

// sealTOTP encrypts a TOTP secret for the user: nonce || ciphertext.
func (e *Engine) sealTOTP(userID int64, secret []byte) ([]byte, error) {
	aead, err := e.totpAEAD()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if err := e.readRand(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, secret, totpAD(userID)), nil
}

// openTOTP decrypts what sealTOTP sealed.
func (e *Engine) openTOTP(userID int64, sealed []byte) ([]byte, error) {
	aead, err := e.totpAEAD()
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("authcube: sealed TOTP secret too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], totpAD(userID))
}

// totpCodeAt is the 6-digit code of secret for the time step.
func totpCodeAt(secret []byte, step int64) string {
	code, _ := totp.GenerateCodeCustom(base32NoPad(secret), time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	return code
}

// matchTOTP returns the time step (now's, or one either side) whose code is code and that is
// after lastStep, or false. Every candidate is compared in constant time.
func matchTOTP(secret []byte, code string, now time.Time, lastStep int64) (int64, bool) {
	cur := now.Unix() / totpPeriod
	var found int64
	ok := false
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		want := totpCodeAt(secret, step)
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > lastStep && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}

// normalizeCode drops spaces and dashes, and reports whether what is left is a TOTP code (6
// digits).
func normalizeCode(s string) (string, bool) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), "-", "")
	if len(s) != 6 {
		return s, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return s, false
		}
	}
	return s, true
}

// recoveryHash is the stored digest of a recovery code in its normal form (lower case, no
// separators).
func recoveryHash(code string) [32]byte {
	return sha256.Sum256([]byte("authcube recovery code\x00" + code))
}

// normalRecovery is the normal form of a typed recovery code.
func normalRecovery(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer(" ", "", "-", "").Replace(s)
	return s
}

// newRecoveryCodes returns recoveryCodeCount fresh codes, shown "xxxxx-xxxxx", and their hashes.
func (e *Engine) newRecoveryCodes() ([]string, [][32]byte, error) {
	codes := make([]string, 0, recoveryCodeCount)
	hashes := make([][32]byte, 0, recoveryCodeCount)
	raw := make([]byte, recoveryCodeLen)
	for range recoveryCodeCount {
		if err := e.readRand(raw); err != nil {
			return nil, nil, err
		}
		b := make([]byte, recoveryCodeLen)
		for i, r := range raw {
			b[i] = recoveryAlphabet[r%32]
		}
		code := string(b)
		codes = append(codes, code[:5]+"-"+code[5:])
		hashes = append(hashes, recoveryHash(code))
	}
	return codes, hashes, nil
}

// totpThrottleKey is the throttle key of a user's second-factor codes: they are throttled as
// passwords are (S38).
func (e *Engine) totpThrottleKey(userID int64) throttleKey {
	return throttleKey{key: digestKey("totp", strconv.FormatInt(userID, 10)), p: e.cfg.Throttle}
}

// codeAttempt admits one code attempt for the user through the throttle; finish it with ok.
func (e *Engine) codeAttempt(ctx context.Context, op string, userID int64) (func(ok bool), error) {
	k := e.totpThrottleKey(userID)
	if err := e.throttle.reserve(ctx, op, "", "totp", k); err != nil {
		return nil, err
	}
	return func(ok bool) { e.throttle.finish(context.WithoutCancel(ctx), ok, k) }, nil
}

// wrongCode is the one error of a wrong, replayed or used code.
func wrongCode(op string) *Error {
	return &Error{Code: CodeInvalidCredentials, Op: op, Field: "code", Message: "invalid code"}
}

// EnrollTOTP starts a TOTP enrolment for the user of token (a user session; an application
// session is ErrForbidden): a new secret, pending until [Engine.ConfirmTOTP] confirms it with a
// code, replacing any pending one. A user whose TOTP is confirmed already gets ErrConflict
// (Field "totp"): disable it first. A store without second-factor support is ErrInvalid.
func (e *Engine) EnrollTOTP(ctx context.Context, token string) (TOTPEnrollment, error) {
	const op = "enroll totp"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	defer done()
	sf, err := e.secondFactors(op)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	u, err := e.store.User(ctx, s.UserID)
	if err != nil {
		return TOTPEnrollment{}, storeErr(op, err)
	}
	secret := make([]byte, totpSecretBytes)
	if err := e.readRand(secret); err != nil {
		return TOTPEnrollment{}, internal(op, err)
	}
	account := u.Login
	if account == "" {
		account = u.Email
	}
	if account == "" {
		account = "user " + strconv.FormatInt(u.ID, 10)
	}
	issuer := e.cfg.TOTPIssuer
	if issuer == "" {
		issuer = "authcube"
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod,
		Secret: secret, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPEnrollment{}, internal(op, err)
	}
	sealed, err := e.sealTOTP(u.ID, secret)
	if err != nil {
		return TOTPEnrollment{}, internal(op, err)
	}
	now := e.now()
	if err := sf.PutTOTP(ctx, store.TOTP{UserID: u.ID, Secret: sealed, CreatedAt: now}); err != nil {
		if errors.Is(err, store.ErrStale) {
			return TOTPEnrollment{}, &Error{Code: CodeConflict, Op: op, Field: "totp", Message: "a second factor is already enabled"}
		}
		return TOTPEnrollment{}, storeErr(op, err)
	}
	e.emit(Event{Kind: TOTPEnrolled, SessionID: s.ID, UserID: u.ID, At: now})
	return TOTPEnrollment{Secret: key.Secret(), URL: key.URL()}, nil
}

// ConfirmTOTP confirms the pending enrolment of the user of token with a current code, and
// returns the recovery codes (10, each single use; shown once, stored hashed): from now on
// every sign-in of the user asks for a second factor. A wrong code is ErrInvalidCredentials
// (Field "code"), throttled as passwords are; no pending enrolment is ErrNotFound (Field
// "totp").
func (e *Engine) ConfirmTOTP(ctx context.Context, token, code string) (recoveryCodes []string, err error) {
	const op = "confirm totp"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return nil, err
	}
	defer done()
	sf, err := e.secondFactors(op)
	if err != nil {
		return nil, err
	}
	t, err := sf.TOTP(ctx, s.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr(op, err)
	}
	if err != nil || t.Confirmed {
		return nil, errorFor(ErrNotFound, op, "totp")
	}
	finish, err := e.codeAttempt(ctx, op, s.UserID)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() { finish(ok) }()
	secret, err := e.openTOTP(s.UserID, t.Secret)
	if err != nil {
		return nil, internal(op, err)
	}
	now := e.now()
	c, digits := normalizeCode(code)
	step, match := matchTOTP(secret, c, now, 0)
	if !digits || !match {
		err := wrongCode(op)
		e.emit(Event{Kind: SecondFactorFailed, SessionID: s.ID, UserID: s.UserID, Provider: "totp", At: now, Err: err})
		return nil, err
	}
	codes, hashes, err := e.newRecoveryCodes()
	if err != nil {
		return nil, internal(op, err)
	}
	if err := sf.ConfirmTOTP(ctx, s.UserID, step, hashes); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorFor(ErrNotFound, op, "totp")
		}
		return nil, storeErr(op, err)
	}
	ok = true
	e.emit(Event{Kind: TOTPConfirmed, SessionID: s.ID, UserID: s.UserID, At: now})
	return codes, nil
}

// checkProof checks a proof of the user's presence for DisableTOTP and
// RegenerateRecoveryCodes: a current TOTP code (6 digits, consumed like a sign-in's) or the
// user's password. Failures are throttled as passwords are.
func (e *Engine) checkProof(ctx context.Context, op string, s store.Session, sf store.SecondFactors, t store.TOTP, proof string) error {
	finish, err := e.codeAttempt(ctx, op, s.UserID)
	if err != nil {
		return err
	}
	ok := false
	defer func() { finish(ok) }()
	now := e.now()
	fail := func(cause error) error {
		err := wrongCode(op)
		err.Field, err.Message, err.Err = "proof", "invalid code or password", cause
		e.emit(Event{Kind: SecondFactorFailed, SessionID: s.ID, UserID: s.UserID, Provider: "totp", At: now, Err: err})
		return err
	}
	if c, digits := normalizeCode(proof); digits {
		secret, err := e.openTOTP(s.UserID, t.Secret)
		if err != nil {
			return fail(err)
		}
		step, match := matchTOTP(secret, c, now, t.LastStep)
		if !match {
			return fail(nil)
		}
		if t.Confirmed {
			if err := sf.UseTOTPStep(ctx, s.UserID, step); err != nil {
				if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotFound) {
					return fail(nil)
				}
				return fail(err)
			}
		}
		ok = true
		return nil
	}
	u, err := e.store.User(ctx, s.UserID)
	if err != nil {
		return fail(err)
	}
	password, perr := canon.Password(proof, 1)
	if perr != nil || u.PasswordHash == "" {
		_, _, _ = e.hasher.verify(ctx, "", proof)
		return fail(nil)
	}
	valid, _, err := e.hasher.verify(ctx, u.PasswordHash, password)
	if err != nil || !valid {
		return fail(err)
	}
	ok = true
	return nil
}

// DisableTOTP turns the second factor of the user of token off (or cancels a pending
// enrolment), deleting its recovery codes. proof is the user's password or a current TOTP
// code; a wrong one is ErrInvalidCredentials (Field "proof"), throttled as passwords are. No
// enrolment is ErrNotFound (Field "totp").
func (e *Engine) DisableTOTP(ctx context.Context, token, proof string) error {
	const op = "disable totp"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return err
	}
	defer done()
	sf, t, err := e.userTOTP(ctx, op, s.UserID, false)
	if err != nil {
		return err
	}
	if err := e.checkProof(ctx, op, s, sf, t, proof); err != nil {
		return err
	}
	if err := sf.DeleteTOTP(ctx, s.UserID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorFor(ErrNotFound, op, "totp")
		}
		return storeErr(op, err)
	}
	e.emit(Event{Kind: TOTPDisabled, SessionID: s.ID, UserID: s.UserID})
	return nil
}

// RegenerateRecoveryCodes replaces the recovery codes of the user of token with 10 new ones
// (the old ones stop working). proof is the user's password or a current TOTP code, as for
// DisableTOTP; no confirmed enrolment is ErrNotFound (Field "totp").
func (e *Engine) RegenerateRecoveryCodes(ctx context.Context, token, proof string) ([]string, error) {
	const op = "regenerate recovery codes"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return nil, err
	}
	defer done()
	sf, t, err := e.userTOTP(ctx, op, s.UserID, true)
	if err != nil {
		return nil, err
	}
	if err := e.checkProof(ctx, op, s, sf, t, proof); err != nil {
		return nil, err
	}
	codes, hashes, err := e.newRecoveryCodes()
	if err != nil {
		return nil, internal(op, err)
	}
	if err := sf.SetRecoveryCodes(ctx, s.UserID, hashes); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorFor(ErrNotFound, op, "totp")
		}
		return nil, storeErr(op, err)
	}
	e.emit(Event{Kind: RecoveryCodesRegenerated, SessionID: s.ID, UserID: s.UserID})
	return codes, nil
}

// userTOTP reads the user's enrolment: ErrNotFound (Field "totp") when there is none, or
// when confirmed is set and it is only pending.
func (e *Engine) userTOTP(ctx context.Context, op string, userID int64, confirmed bool) (store.SecondFactors, store.TOTP, error) {
	sf, err := e.secondFactors(op)
	if err != nil {
		return nil, store.TOTP{}, err
	}
	t, err := sf.TOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && confirmed && !t.Confirmed) {
		return nil, store.TOTP{}, errorFor(ErrNotFound, op, "totp")
	}
	if err != nil {
		return nil, store.TOTP{}, storeErr(op, err)
	}
	return sf, t, nil
}

// SecondFactor reports the second factor of the user of token.
func (e *Engine) SecondFactor(ctx context.Context, token string) (SecondFactorStatus, error) {
	const op = "second factor"
	s, done, err := e.enterUser(ctx, op, token)
	if err != nil {
		return SecondFactorStatus{}, err
	}
	defer done()
	sf, ok := e.store.(store.SecondFactors)
	if !ok {
		return SecondFactorStatus{}, nil
	}
	t, err := sf.TOTP(ctx, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return SecondFactorStatus{}, nil
	}
	if err != nil {
		return SecondFactorStatus{}, storeErr(op, err)
	}
	st := SecondFactorStatus{TOTP: t.Confirmed, Pending: !t.Confirmed}
	if t.Confirmed {
		if st.RecoveryCodesLeft, err = sf.RecoveryCodesLeft(ctx, s.UserID); err != nil {
			return SecondFactorStatus{}, storeErr(op, err)
		}
	}
	return st, nil
}

// secondFactorChallenge is called after a right first factor: when the user has a confirmed
// TOTP enrolment (and the provider is not exempt) it stores a challenge and returns
// ErrSecondFactorRequired carrying it; otherwise nil. A store outage denies (S29).
func (e *Engine) secondFactorChallenge(ctx context.Context, op string, u store.User, ff firstFactor) error {
	sf, ok := e.store.(store.SecondFactors)
	if !ok || ff.multiFactor { // a passkey with user verification is two factors already
		return nil
	}
	for _, p := range e.cfg.SecondFactorExempt {
		if p == ff.provider {
			return nil
		}
	}
	t, err := sf.TOTP(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Confirmed) {
		return nil
	}
	if err != nil {
		return storeErr(op, err)
	}
	challenge, hash, err := e.newToken()
	if err != nil {
		return internal(op, err)
	}
	now := e.now()
	c := store.Challenge{Hash: hash, UserID: u.ID, Provider: ff.provider, VerifiedHash: u.PasswordHash, ExpiresAt: now.Add(ChallengeTTL)}
	if err := sf.CreateChallenge(ctx, c); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorFor(ErrInvalidCredentials, op, "")
		}
		return storeErr(op, err)
	}
	e.emit(Event{Kind: SecondFactorRequired, UserID: u.ID, Provider: ff.provider, At: now})
	ce := errorFor(ErrSecondFactorRequired, op, "")
	ce.Challenge = challenge
	return ce
}

// CompleteSignIn ends a sign-in that answered ErrSecondFactorRequired: challenge is the
// error's Challenge, code a current TOTP code (6 digits; each time step's code is accepted
// once, with one step of clock drift either way) or an unused recovery code (then used up).
// It returns a fresh user session (S17): a SignIn on an existing token that asked for the
// second factor left that token an application session. A challenge is single use and lives
// ChallengeTTL (5 minutes); a wrong code leaves it for another try. An unknown, used or
// expired challenge is ErrInvalidCredentials (Field "challenge"); a wrong, replayed or used
// code ErrInvalidCredentials (Field "code"); failures are throttled per user as passwords are
// (ErrThrottled). A password changed since the first factor is ErrInvalidCredentials.
func (e *Engine) CompleteSignIn(ctx context.Context, challenge, code string) (Session, error) {
	const op = "complete sign in"
	if err := e.begin(op); err != nil {
		return Session{}, err
	}
	defer e.done()
	sf, err := e.secondFactors(op)
	if err != nil {
		return Session{}, err
	}
	now := e.now()
	badChallenge := func() (Session, error) {
		err := errorFor(ErrInvalidCredentials, op, "challenge")
		err.Message = "sign-in expired, sign in again"
		e.emit(Event{Kind: SecondFactorFailed, At: now, Err: err})
		return Session{}, err
	}
	hash, ok := tokenHash(challenge)
	if !ok {
		return badChallenge()
	}
	c, err := sf.Challenge(ctx, hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return badChallenge()
	}
	if err != nil {
		return Session{}, storeErr(op, err)
	}
	finish, err := e.codeAttempt(ctx, op, c.UserID)
	if err != nil {
		return Session{}, err
	}
	passed := false
	defer func() { finish(passed) }()
	fail := func(cause error) (Session, error) {
		err := wrongCode(op)
		err.Err = cause
		e.emit(Event{Kind: SecondFactorFailed, UserID: c.UserID, Provider: c.Provider, At: now, Err: err})
		return Session{}, err
	}
	if len(code) > maxCodeInput {
		return fail(nil)
	}
	t, err := sf.TOTP(ctx, c.UserID)
	if err != nil || !t.Confirmed {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Session{}, storeErr(op, err)
		}
		return fail(nil) // disabled meanwhile: the challenge cannot be met
	}
	recovery := false
	if digits, isTOTP := normalizeCode(code); isTOTP {
		secret, err := e.openTOTP(c.UserID, t.Secret)
		if err != nil {
			return fail(err)
		}
		step, match := matchTOTP(secret, digits, now, t.LastStep)
		if !match {
			return fail(nil)
		}
		if err := sf.UseTOTPStep(ctx, c.UserID, step); err != nil {
			if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotFound) {
				return fail(nil) // replayed concurrently
			}
			return Session{}, storeErr(op, err)
		}
	} else {
		if err := sf.UseRecoveryCode(ctx, c.UserID, recoveryHash(normalRecovery(code))); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fail(nil)
			}
			return Session{}, storeErr(op, err)
		}
		recovery = true
	}
	passed = true
	if _, err := sf.ConsumeChallenge(ctx, hash, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return badChallenge() // used by a concurrent call
		}
		return Session{}, storeErr(op, err)
	}
	u, err := e.store.User(ctx, c.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Session{}, errorFor(ErrInvalidCredentials, op, "")
		}
		return Session{}, storeErr(op, err)
	}
	if u.Disabled {
		return Session{}, errorFor(ErrUserDisabled, op, "")
	}
	if recovery {
		e.emit(Event{Kind: RecoveryCodeUsed, UserID: c.UserID, At: now})
	}
	e.emit(Event{Kind: SecondFactorPassed, UserID: c.UserID, Provider: c.Provider, At: now})
	s, token, err := e.createSession(ctx, op, c.UserID, c.Provider, c.VerifiedHash)
	if err != nil {
		return Session{}, err
	}
	e.emit(Event{Kind: SessionCreated, SessionID: s.ID, UserID: u.ID, At: s.CreatedAt})
	e.emit(Event{Kind: SignedIn, SessionID: s.ID, UserID: u.ID, Provider: c.Provider, At: s.CreatedAt})
	return e.publicSession(s, token), nil
}

// base32NoPad is the base32 text (no padding) of a secret, as authenticator apps read it.
func base32NoPad(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// CompleteSignIn ends a sign-in of the client that answered ErrSecondFactorRequired (see
// Engine.CompleteSignIn) and adopts the fresh session it returns, ending the application
// session the client had. No credentials are kept for renewals: when the session expires, the
// caller signs in again, with the second factor.
func (c *Client) CompleteSignIn(ctx context.Context, challenge, code string) (Session, error) {
	s, err := c.e.CompleteSignIn(ctx, challenge, code)
	if err != nil {
		return Session{}, err
	}
	c.mu.Lock()
	old := c.token
	c.token, c.userID, c.creds = s.Token, s.UserID, nil
	c.mu.Unlock()
	if old != "" {
		_ = c.e.DestroySession(context.WithoutCancel(ctx), old) // best effort: it acts for no one
	}
	c.tell(Event{Kind: SignedIn, SessionID: s.ID, UserID: s.UserID, At: s.CreatedAt})
	return s, nil
}

// EnrollTOTP starts a TOTP enrolment for the client's user; see [Engine.EnrollTOTP].
func (c *Client) EnrollTOTP(ctx context.Context) (TOTPEnrollment, error) {
	return call(c, ctx, func(ctx context.Context, token string) (TOTPEnrollment, error) { return c.e.EnrollTOTP(ctx, token) })
}

// ConfirmTOTP confirms the client's user's pending enrolment; see [Engine.ConfirmTOTP].
func (c *Client) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	return call(c, ctx, func(ctx context.Context, token string) ([]string, error) { return c.e.ConfirmTOTP(ctx, token, code) })
}

// DisableTOTP turns the client's user's second factor off; see [Engine.DisableTOTP].
func (c *Client) DisableTOTP(ctx context.Context, proof string) error {
	return c.Do(ctx, func(ctx context.Context, token string) error { return c.e.DisableTOTP(ctx, token, proof) })
}

// RegenerateRecoveryCodes replaces the client's user's recovery codes; see
// [Engine.RegenerateRecoveryCodes].
func (c *Client) RegenerateRecoveryCodes(ctx context.Context, proof string) ([]string, error) {
	return call(c, ctx, func(ctx context.Context, token string) ([]string, error) {
		return c.e.RegenerateRecoveryCodes(ctx, token, proof)
	})
}

// SecondFactor reports the client's user's second factor; see [Engine.SecondFactor].
func (c *Client) SecondFactor(ctx context.Context) (SecondFactorStatus, error) {
	return call(c, ctx, func(ctx context.Context, token string) (SecondFactorStatus, error) {
		return c.e.SecondFactor(ctx, token)
	})
}

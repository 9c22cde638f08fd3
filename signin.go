package authcube

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

const (
	// providerPassword names local password sign-in in events; providerCustom the custom
	// identity provider (Config.Identity) in events and in the identities table.
	providerPassword = "password"
	providerCustom   = "custom"

	// maxProviderSecret caps a provider token, or a password passed to the custom provider (S1).
	maxProviderSecret = 8 << 10
)

// Bounds on a sign-in's login and email, checked before anything else is done with them (S30):
// no account has a longer one, so refusing costs nothing and tells nothing.
const (
	maxLoginInput = 1024 // bytes: 64 code points, with room for marks that compose away
	maxEmailInput = 254  // bytes (RFC 5321)
)

// checkCredentials finds the user the credentials name: a local password, a provider token
// (Config.Providers), or a login the custom identity provider (Config.Identity) accepts. Every
// failure is the one ErrInvalidCredentials (S8), after the throttle (S9, S36) admitted the
// attempt. It returns the user and the provider name for events.
func (e *Engine) checkCredentials(ctx context.Context, op string, c Credentials) (store.User, firstFactor, error) {
	addr, err := parseClientAddr(op, c.ClientAddr)
	if err != nil {
		return store.User{}, firstFactor{}, err
	}
	switch {
	case c.Code != "":
		return e.checkEmailCode(ctx, op, c, addr)
	case c.Provider != "" || c.Token != "":
		return e.checkToken(ctx, op, c, addr)
	case c.Login != "" && c.Email != "":
		return store.User{}, firstFactor{}, invalid(op, "login", "give a login or an email, not both")
	case c.Login == "" && c.Email == "":
		return store.User{}, firstFactor{}, invalid(op, "login", "is required")
	case len(c.Login) > maxLoginInput:
		return store.User{}, firstFactor{}, invalid(op, "login", "must be 3 to 64 characters")
	case len(c.Email) > maxEmailInput:
		return store.User{}, firstFactor{}, invalid(op, "email", "must be at most 254 characters")
	case c.Password == "":
		return store.User{}, firstFactor{}, invalid(op, "password", "is required")
	}
	// The canonical key: throttling and the look-up use it, for unknown accounts too.
	var kind, lookup string
	var find func(context.Context, string) (store.User, error)
	if c.Login != "" {
		kind, lookup, find = "login", canon.Fold(c.Login), e.store.UserByLogin
		if _, k, err := canon.Login(c.Login); err == nil {
			lookup = k
		}
	} else {
		kind, lookup, find = "email", canon.Fold(c.Email), e.store.UserByEmail
		if _, k, err := canon.Email(c.Email); err == nil {
			lookup = k
		}
	}
	// The attempt counts against the account and the client address; with a valid device
	// token of the account's user, against the user's devices (one budget for all of the
	// user's tokens) and the client address (S36). Telling which needs the user, so a device
	// token's attempt looks it up first.
	keys := []throttleKey{e.accountKey(kind, lookup)}
	ck, hasClient := e.clientKey(addr)
	if hasClient {
		keys = append(keys, ck)
	}
	var u store.User
	looked := false
	if deviceUser, dk, ok := e.parseDeviceToken(c.DeviceToken); ok {
		u, err = find(ctx, lookup)
		looked = true
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, firstFactor{}, storeErr(op, err) // fail closed (S29)
		}
		if err == nil && u.ID == deviceUser {
			keys = []throttleKey{dk}
			if hasClient {
				keys = append(keys, ck)
			}
		}
	}
	a, aerr := e.attempt(ctx, op, c.Login+c.Email, providerPassword, keys...)
	if aerr != nil {
		return store.User{}, firstFactor{}, aerr
	}
	defer a.finish()

	if !looked {
		u, err = find(ctx, lookup)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return a.fail(err) // fail closed (S29)
	}
	if e.cfg.Identity != nil && c.Login != "" {
		external := errors.Is(err, store.ErrNotFound)
		if !external {
			_, serr := e.store.IdentitySubject(ctx, u.ID, providerCustom)
			if serr != nil && !errors.Is(serr, store.ErrNotFound) {
				return a.fail(serr)
			}
			external = serr == nil
		}
		if external {
			a.provider = providerCustom
			return e.checkExternalPassword(ctx, a, c)
		}
	}
	// No stored password can be longer than the rules allow: refuse without hashing (S1).
	password, perr := canon.Password(c.Password, 1)
	if perr != nil {
		if e.cfg.Identity != nil && c.Login != "" && externalPasswordOK(c.Password) {
			// The provider's path verifies once for such a password: so does this one (S8).
			_, _, _ = e.hasher.verify(ctx, "", c.Password)
		}
		return a.fail(nil)
	}
	valid, weak, err := e.hasher.verify(ctx, u.PasswordHash, password) // "" runs the dummy verify
	if err != nil {
		return a.fail(err)
	}
	if !valid {
		return a.fail(nil)
	}
	if weak {
		if u.PasswordHash, err = e.rehash(ctx, u, password); err != nil {
			return a.fail(err) // fail closed (S29)
		}
	}
	if e.cfg.EmailVerification == EmailVerifyRequire && u.Email != "" && u.EmailVerifiedAt.IsZero() && !u.Disabled {
		// Only the right password learns it (S40); the attempt succeeded for throttling.
		a.ok = true
		err := errorFor(ErrEmailNotVerified, a.op, "email")
		e.emit(Event{Kind: SignInFailed, UserID: u.ID, Login: a.who, Provider: a.provider, Err: err})
		return store.User{}, firstFactor{}, err
	}
	return a.succeed(u) // u.PasswordHash: the hash verified, which the session write re-checks
}

// signInAttempt is one attempt admitted by the throttle.
type signInAttempt struct {
	e        *Engine
	ctx      context.Context
	op, who  string
	keys     []throttleKey
	provider string
	ok       bool
	// multiFactor is set by a provider that verified more than one factor (a passkey with
	// user verification): the sign-in then satisfies the second factor too.
	multiFactor bool
}

// firstFactor says how a sign-in's first factor was made: the provider name for events and
// sessions, and whether the provider verified more than one factor.
type firstFactor struct {
	provider    string
	multiFactor bool
}

// attempt asks the throttle to admit an attempt counted against keys (S9, S36). who is the
// login or email tried, for events; it is cut to a bounded prefix (S30).
func (e *Engine) attempt(ctx context.Context, op, who, provider string, keys ...throttleKey) (*signInAttempt, error) {
	who = logLogin(who)
	if err := e.throttle.reserve(ctx, op, who, provider, keys...); err != nil {
		return nil, err
	}
	return &signInAttempt{e: e, ctx: ctx, op: op, keys: keys, who: who, provider: provider}, nil
}

// fail ends the attempt with the one sign-in error, emitting SignInFailed; a cause (a store or
// provider outage) is kept for the logs, and still denies.
func (a *signInAttempt) fail(cause error) (store.User, firstFactor, error) {
	err := errorFor(ErrInvalidCredentials, a.op, "")
	if cause != nil {
		err.Err = cause
	}
	a.e.emit(Event{Kind: SignInFailed, Login: a.who, Provider: a.provider, Err: err})
	return store.User{}, firstFactor{}, err
}

// succeed ends the attempt with the user whose credentials were right; a disabled user is
// refused with ErrUserDisabled, and the attempt counts as a failure (S44).
func (a *signInAttempt) succeed(u store.User) (store.User, firstFactor, error) {
	if u.Disabled {
		err := errorFor(ErrUserDisabled, a.op, "")
		a.e.emit(Event{Kind: SignInFailed, UserID: u.ID, Login: a.who, Provider: a.provider, Err: err})
		return store.User{}, firstFactor{}, err
	}
	a.ok = true
	return u, firstFactor{provider: a.provider, multiFactor: a.multiFactor}, nil
}

func (a *signInAttempt) finish() {
	a.e.throttle.finish(context.WithoutCancel(a.ctx), a.ok, a.keys...)
}

// checkToken signs in with a provider token: the verifier of Config.Providers checks it, and
// the local user of (provider, subject) is found or created (S22).
func (e *Engine) checkToken(ctx context.Context, op string, c Credentials, addr netip.Addr) (store.User, firstFactor, error) {
	verifier, ok := e.cfg.Providers[c.Provider]
	switch {
	case c.Provider == "":
		return store.User{}, firstFactor{}, invalid(op, "provider", "is required with a token")
	case !ok:
		return store.User{}, firstFactor{}, invalid(op, "provider", "is not configured")
	case c.Token == "":
		return store.User{}, firstFactor{}, invalid(op, "token", "is required")
	case c.Login != "" || c.Email != "" || c.Password != "":
		return store.User{}, firstFactor{}, invalid(op, "provider", "give a provider token or a login and password, not both")
	}
	keys := []throttleKey{{key: digestKey("token", c.Provider+"\x00"+tokenSubjectHint(c.Token)), p: e.cfg.Throttle}}
	if ck, ok := e.clientKey(addr); ok {
		keys = append(keys, ck)
	}
	a, err := e.attempt(ctx, op, "", c.Provider, keys...)
	if err != nil {
		return store.User{}, firstFactor{}, err
	}
	defer a.finish()
	if len(c.Token) > maxProviderSecret {
		return a.fail(nil)
	}
	claims, err := verifier.VerifyToken(ctx, c.Token)
	if err != nil {
		if errors.Is(err, identity.ErrRejected) {
			err = nil
		}
		return a.fail(scrubSecret(err, c.Token)) // a verifier may quote what it refused (S28)
	}
	a.multiFactor = claims.MultiFactor
	if claims.Subject == "" {
		return a.fail(errors.New("authcube: provider returned no subject"))
	}
	nu := store.User{}
	switch c.Provider {
	case "firebase_phone":
		if claims.SignInProvider != "phone" || claims.Phone == "" {
			return a.fail(nil)
		}
	case "firebase_email":
		if claims.Email == "" || !claims.EmailVerified {
			return a.fail(nil)
		}
	}
	if claims.Phone != "" {
		if p, err := canon.Phone(claims.Phone); err == nil {
			nu.Phone = p
		}
	}
	if claims.Email != "" && claims.EmailVerified {
		nu.Email, nu.EmailCanon, _ = canon.Email(claims.Email)
		nu.EmailVerifiedAt = e.now() // the provider verified it (S40)
	}
	if e.cfg.LinkVerifiedEmail && nu.EmailCanon != "" {
		if u, ok, err := e.linkByEmail(ctx, c.Provider, claims.Subject, nu.EmailCanon); err != nil {
			return a.fail(err)
		} else if ok {
			return a.succeed(u)
		}
	}
	u, err := e.identityUser(ctx, c.Provider, claims.Subject, nu)
	if err != nil {
		return a.fail(err)
	}
	return a.succeed(u)
}

// externalPasswordOK reports whether a password may be passed to the custom identity provider:
// valid UTF-8 of at most maxProviderSecret bytes.
func externalPasswordOK(p string) bool { return len(p) <= maxProviderSecret && utf8.ValidString(p) }

// checkExternalPassword asks the custom identity provider about a login and password, and finds
// or creates the local user of its subject, refreshing the name it gives. Passwords here skip the
// local password rules (they may be tokens of the external system) but are capped. Every
// failure past the cap costs one (dummy) verify, as a local account's does, so the time of a
// failure does not tell local accounts from the provider's or from unknown logins (S8).
func (e *Engine) checkExternalPassword(ctx context.Context, a *signInAttempt, c Credentials) (store.User, firstFactor, error) {
	if !externalPasswordOK(c.Password) {
		return a.fail(nil)
	}
	fail := func(cause error) (store.User, firstFactor, error) {
		_, _, _ = e.hasher.verify(ctx, "", c.Password)
		return a.fail(cause)
	}
	p, err := e.cfg.Identity.VerifyPassword(ctx, c.Login, c.Password)
	if err != nil {
		if errors.Is(err, identity.ErrRejected) {
			err = nil
		}
		return fail(scrubSecret(err, c.Password)) // a provider may quote what it refused (S28)
	}
	if p.Subject == "" {
		return fail(errors.New("authcube: identity provider returned no subject"))
	}
	nu := store.User{}
	login := p.Login
	if login == "" {
		login = c.Login
	}
	if display, key, err := canon.Login(login); err == nil {
		nu.Login, nu.LoginCanon = display, key
	}
	if p.Email != "" {
		nu.Email, nu.EmailCanon, _ = canon.Email(p.Email)
	}
	if p.FullName != "" {
		nu.FullName, _ = canon.FullName(p.FullName)
	}
	u, err := e.identityUser(ctx, providerCustom, p.Subject, nu)
	if err != nil {
		return fail(err)
	}
	if nu.FullName != "" && nu.FullName != u.FullName {
		if err := e.store.RefreshUserName(ctx, u.ID, nu.FullName, e.now()); err != nil {
			return fail(err) // fail closed (S29)
		}
		u.FullName = nu.FullName
	}
	return a.succeed(u)
}

// identityUser finds the local user of (provider, subject), or creates it from nu. A provider
// user never takes over a local account (S22): when nu's login is taken it gets the first free
// "login-2", "login-3", ...; when its email is taken, no email.
func (e *Engine) identityUser(ctx context.Context, provider, subject string, nu store.User) (store.User, error) {
	u, err := e.store.UserByIdentity(ctx, provider, subject)
	if !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	now := e.now()
	nu.CreatedAt, nu.UpdatedAt, nu.LastRequestAt = now, now, now
	base := []rune(nu.Login)
	if len(base) > 60 {
		base = base[:60] // room for the suffix
	}
	for n := 2; n < 100; n++ {
		nu.ID, err = e.store.CreateIdentityUser(ctx, provider, subject, nu)
		var ce *store.ConflictError
		switch {
		case err == nil:
			e.emit(Event{Kind: UserCreated, UserID: nu.ID, Provider: provider, At: now})
			return nu, nil
		case !errors.As(err, &ce):
			return store.User{}, err
		case ce.Field == "identity": // the same user signing in at once elsewhere won
			return e.store.UserByIdentity(ctx, provider, subject)
		case ce.Field == "email":
			nu.Email, nu.EmailCanon = "", ""
		case ce.Field == "login":
			// The display and canonical forms differ in length ("ｶﾞ" folds to one letter):
			// canonicalise the suffixed display form again rather than cut either.
			var err error
			if nu.Login, nu.LoginCanon, err = canon.Login(string(base) + fmt.Sprintf("-%d", n)); err != nil {
				nu.Login, nu.LoginCanon = "", "" // no free login: the user gets none
			}
		}
	}
	return store.User{}, errors.New("authcube: no free login for an identity user")
}

// tokenSubjectHint keys the throttle of a provider token: the token's (unverified) "sub" claim
// when it is a JWT, so a flood of bad tokens for one subject is slowed without letting anyone
// lock out the whole provider; otherwise a hash of the token.
func tokenSubjectHint(token string) string {
	if parts := strings.Split(token, "."); len(parts) == 3 && len(parts[1]) <= maxProviderSecret {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var claims struct {
				Sub string `json:"sub"`
			}
			if json.Unmarshal(b, &claims) == nil && claims.Sub != "" && len(claims.Sub) <= 128 {
				return "sub:" + claims.Sub
			}
		}
	}
	h := sha256.Sum256([]byte(token))
	return "hash:" + hex.EncodeToString(h[:8])
}

// Package passkey adds passkeys (WebAuthn, github.com/go-webauthn/webauthn) to an authcube
// engine, in the engine's token-first style, keeping WebAuthn parsing out of package authcube
// (S42):
//
//	pk, _ := passkey.New(passkey.Config{RPID: "example.com", Origins: []string{"https://example.com"}})
//	cfg.Providers = map[string]identity.TokenVerifier{passkey.Provider: pk}
//	engine, _ := authcube.Open(ctx, cfg)
//	_ = pk.Attach(engine)
//
// A signed-in user registers a passkey (BeginRegistration gives the options for
// navigator.credentials.create, FinishRegistration takes the browser's answer), lists, renames
// and removes them. To sign in, BeginLogin gives the options for navigator.credentials.get (a
// discoverable passkey when no login is given), and the browser's answer is a provider token:
// engine.SignIn(ctx, token, passkey.Credentials(answer)) (or httpauth's SignIn) signs in through
// the engine's usual path: throttling, events, disabled users, a fresh session.
//
// Rules: challenges live in the store, are single use and expire after ChallengeTTL; the
// origin and the relying party id are checked against Config; user verification is as
// configured; the sign counter must grow (a passkey whose counter does not is taken for a
// clone: refused and logged); credential ids are unique. A passkey whose authenticator
// verified the user (a PIN or biometric besides possession) is two factors, so it also
// satisfies a second-factor requirement (TOTP): that sign-in is not asked for a TOTP code. A
// passkey that only saw the user present is one factor, and a user with TOTP is asked for a
// code after it (UserVerification "required" makes every passkey sign-in verify the user).
package passkey

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/store"
)

// Provider is the name to give the Service in authcube.Config.Providers: the store links a
// user with passkeys under it.
const Provider = store.PasskeyProvider

// ChallengeTTL is how long a begun registration or sign-in may take: 5 minutes.
const ChallengeTTL = 5 * time.Minute

// MaxPasskeys is how many passkeys a user may have: 20.
const MaxPasskeys = 20

// MaxNameLength is the longest passkey name, in characters: 64.
const MaxNameLength = 64

// Config configures New.
type Config struct {
	// RPID is the relying party id: the site's registrable domain or host ("example.com").
	// Required.
	RPID string
	// RPName is the name authenticators show; "" means RPID.
	RPName string
	// Origins are the web origins allowed to use the passkeys ("https://example.com").
	// Required.
	Origins []string
	// UserVerification is "required", "preferred" (the default) or "discouraged".
	UserVerification string
	// Now is the clock for challenges and last use; nil means time.Now. Give the engine's.
	Now func() time.Time
	// Logger receives refused clones and similar events; nil means slog.Default().
	Logger *slog.Logger
}

// Passkey is one passkey of a user, as the user sees it.
type Passkey struct {
	ID         string // the credential id, base64url without padding
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Service is the passkey engine of one authcube engine. It is safe for concurrent use.
type Service struct {
	cfg Config
	w   *webauthn.WebAuthn
	uv  protocol.UserVerificationRequirement
	e   *authcube.Engine
	st  store.Passkeys
	log *slog.Logger
}

// New returns a Service for cfg; it fails on a missing RPID or Origins, an origin that is not
// an origin, or an unknown UserVerification. Call Attach once the engine is open.
func New(cfg Config) (*Service, error) {
	if cfg.RPID == "" || len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: RPID and Origins are required")
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.RPID
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	uv := protocol.UserVerificationRequirement(cfg.UserVerification)
	switch uv {
	case "":
		uv = protocol.VerificationPreferred
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return nil, fmt.Errorf("passkey: unknown UserVerification %q", cfg.UserVerification)
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.RPName, RPOrigins: cfg.Origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: uv,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Service{cfg: cfg, w: w, uv: uv, log: cfg.Logger}, nil
}

// Attach binds s to e, whose store must have the store.Passkeys ability (both bundled stores
// do). e's Config.Providers should hold s under Provider, or passkey sign-ins are refused.
func (s *Service) Attach(e *authcube.Engine) error {
	st, ok := e.PasskeyStore()
	if !ok {
		return errors.New("passkey: the engine's store has no passkey ability")
	}
	s.e, s.st = e, st
	return nil
}

// Credentials returns the sign-in credentials of a browser's answer to BeginLogin's options.
func Credentials(response []byte) authcube.Credentials {
	return authcube.Credentials{Provider: Provider, Token: string(response)}
}

// user is a webauthn.User: the user handle is the user's id in decimal.
type user struct {
	id    int64
	name  string
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return []byte(strconv.FormatInt(u.id, 10)) }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func invalid(op, field, msg string) error {
	return &authcube.Error{Code: authcube.CodeInvalid, Op: op, Field: field, Message: msg}
}

func internal(op string, err error) error {
	return &authcube.Error{Code: authcube.CodeInternal, Op: op, Message: "internal error", Err: err}
}

// signedIn returns the user of a user session token.
func (s *Service) signedIn(ctx context.Context, op, token string) (authcube.User, error) {
	if s.st == nil {
		return authcube.User{}, internal(op, errors.New("passkey: Attach was not called"))
	}
	sess, err := s.e.Session(ctx, token)
	if err != nil {
		return authcube.User{}, err
	}
	if !sess.IsUser() {
		return authcube.User{}, authcube.ErrForbidden
	}
	return s.e.User(ctx, token, sess.UserID)
}

func (s *Service) webUser(ctx context.Context, u authcube.User) (*user, []store.Passkey, error) {
	keys, err := s.st.UserPasskeys(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	wu := &user{id: u.ID, name: u.Login}
	if wu.name == "" {
		wu.name = u.Email
	}
	if wu.name == "" {
		wu.name = strconv.FormatInt(u.ID, 10)
	}
	for _, k := range keys {
		var c webauthn.Credential
		if err := json.Unmarshal(k.Credential, &c); err != nil {
			return nil, nil, fmt.Errorf("passkey: stored credential: %w", err)
		}
		wu.creds = append(wu.creds, c)
	}
	return wu, keys, nil
}

// saveChallenge stores the ceremony's session data under its challenge.
func (s *Service) saveChallenge(ctx context.Context, kind string, userID int64, sd *webauthn.SessionData) error {
	sd.Expires = time.Time{} // the store's clock decides
	data, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	return s.st.CreatePasskeyChallenge(ctx, store.PasskeyChallenge{ID: sd.Challenge, UserID: userID, Kind: kind, Data: data,
		ExpiresAt: now.Add(ChallengeTTL)}, now)
}

// takeChallenge takes the challenge the client data names: single use, unexpired, of kind.
func (s *Service) takeChallenge(ctx context.Context, kind, challenge string) (store.PasskeyChallenge, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if challenge == "" || len(challenge) > 256 {
		return store.PasskeyChallenge{}, sd, store.ErrNotFound
	}
	c, err := s.st.TakePasskeyChallenge(ctx, challenge, s.cfg.Now())
	if err != nil {
		return c, sd, err
	}
	if c.Kind != kind {
		return c, sd, store.ErrNotFound
	}
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return c, sd, err
	}
	return c, sd, nil
}

// BeginRegistration starts registering a passkey for the user of token (a user session): it
// returns the options JSON for navigator.credentials.create ({"publicKey": ...}), with the
// user's passkeys excluded. ErrUnauthorized for a dead token, ErrForbidden for an application
// session, ErrInvalid (field "passkey") when the user has MaxPasskeys already.
func (s *Service) BeginRegistration(ctx context.Context, token string) (json.RawMessage, error) {
	const op = "begin passkey registration"
	u, err := s.signedIn(ctx, op, token)
	if err != nil {
		return nil, err
	}
	wu, keys, err := s.webUser(ctx, u)
	if err != nil {
		return nil, internal(op, err)
	}
	if len(keys) >= MaxPasskeys {
		return nil, invalid(op, "passkey", fmt.Sprintf("at most %d passkeys", MaxPasskeys))
	}
	var excl []protocol.CredentialDescriptor
	for _, c := range wu.creds {
		excl = append(excl, c.Descriptor())
	}
	opts, sd, err := s.w.BeginRegistration(wu, webauthn.WithExclusions(excl))
	if err != nil {
		return nil, internal(op, err)
	}
	if err := s.saveChallenge(ctx, "register", u.ID, sd); err != nil {
		return nil, internal(op, err)
	}
	return json.Marshal(opts)
}

// FinishRegistration registers the passkey of the browser's answer (the JSON of the
// PublicKeyCredential) to BeginRegistration's options for the same user, named name ("" means
// "Passkey"). The challenge is taken (single use); a wrong or reused challenge, another
// origin or relying party, or a bad attestation is ErrInvalidCredentials; a name over
// MaxNameLength characters is ErrInvalid (field "name"); a credential id registered already is
// ErrConflict (field "passkey").
func (s *Service) FinishRegistration(ctx context.Context, token, name string, response []byte) (Passkey, error) {
	const op = "finish passkey registration"
	u, err := s.signedIn(ctx, op, token)
	if err != nil {
		return Passkey{}, err
	}
	if name == "" {
		name = "Passkey"
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength {
		return Passkey{}, invalid(op, "name", fmt.Sprintf("at most %d characters", MaxNameLength))
	}
	refused := func(why error) (Passkey, error) {
		s.log.Info("passkey: registration refused", "user", u.ID, "err", why)
		return Passkey{}, &authcube.Error{Code: authcube.CodeInvalidCredentials, Op: op, Message: "passkey refused", Err: why}
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return refused(err)
	}
	c, sd, err := s.takeChallenge(ctx, "register", parsed.Response.CollectedClientData.Challenge)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.UserID != u.ID) {
		return refused(errors.New("unknown, used, expired or foreign challenge"))
	}
	if err != nil {
		return Passkey{}, internal(op, err)
	}
	wu, _, err := s.webUser(ctx, u)
	if err != nil {
		return Passkey{}, internal(op, err)
	}
	cred, err := s.w.CreateCredential(wu, sd, parsed)
	if err != nil {
		return refused(err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return Passkey{}, internal(op, err)
	}
	now := s.cfg.Now()
	p := store.Passkey{ID: cred.ID, UserID: u.ID, Name: name, Credential: data, SignCount: cred.Authenticator.SignCount,
		CreatedAt: now, LastUsedAt: now}
	if err := s.st.CreatePasskey(ctx, p); err != nil {
		var ce *store.ConflictError
		if errors.As(err, &ce) {
			return Passkey{}, &authcube.Error{Code: authcube.CodeConflict, Op: op, Field: "passkey", Message: "passkey already registered"}
		}
		return Passkey{}, internal(op, err)
	}
	return view(p), nil
}

func view(p store.Passkey) Passkey {
	return Passkey{ID: base64.RawURLEncoding.EncodeToString(p.ID), Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt}
}

// Passkeys lists the passkeys of the user of token, oldest first.
func (s *Service) Passkeys(ctx context.Context, token string) ([]Passkey, error) {
	const op = "passkeys"
	u, err := s.signedIn(ctx, op, token)
	if err != nil {
		return nil, err
	}
	keys, err := s.st.UserPasskeys(ctx, u.ID)
	if err != nil {
		return nil, internal(op, err)
	}
	out := make([]Passkey, 0, len(keys))
	for _, k := range keys {
		out = append(out, view(k))
	}
	return out, nil
}

func decodeID(op, id string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) == 0 || len(b) > 1023 {
		return nil, invalid(op, "id", "not a passkey id")
	}
	return b, nil
}

// Rename renames a passkey of the user of token: ErrNotFound when the user has no passkey id.
func (s *Service) Rename(ctx context.Context, token, id, name string) error {
	const op = "rename passkey"
	u, err := s.signedIn(ctx, op, token)
	if err != nil {
		return err
	}
	raw, err := decodeID(op, id)
	if err != nil {
		return err
	}
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLength {
		return invalid(op, "name", fmt.Sprintf("1 to %d characters", MaxNameLength))
	}
	if err := s.st.RenamePasskey(ctx, u.ID, raw, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return authcube.ErrNotFound
		}
		return internal(op, err)
	}
	return nil
}

// Remove deletes a passkey of the user of token: ErrNotFound when the user has no passkey id;
// ErrInvalid (field "passkey") when it is the user's last passkey and the user has no
// password, which would leave no way in (another provider's identity is not counted: set a
// password first).
func (s *Service) Remove(ctx context.Context, token, id string) error {
	const op = "remove passkey"
	u, err := s.signedIn(ctx, op, token)
	if err != nil {
		return err
	}
	raw, err := decodeID(op, id)
	if err != nil {
		return err
	}
	keys, err := s.st.UserPasskeys(ctx, u.ID)
	if err != nil {
		return internal(op, err)
	}
	mine := false
	for _, k := range keys {
		mine = mine || bytes.Equal(k.ID, raw)
	}
	if !mine {
		return authcube.ErrNotFound
	}
	hasPassword, err := s.e.HasPassword(ctx, token)
	if err != nil {
		return err
	}
	if len(keys) == 1 && !hasPassword {
		return invalid(op, "passkey", "the last passkey of an account without a password cannot be removed")
	}
	if err := s.st.DeletePasskey(ctx, u.ID, raw); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return authcube.ErrNotFound
		}
		return internal(op, err)
	}
	return nil
}

// BeginLogin starts a passkey sign-in and returns the options JSON for
// navigator.credentials.get ({"publicKey": ...}). token is any live session (an application
// session, as for other sign-ins). With login "" any discoverable passkey of this site may
// answer; with a login, only that user's passkeys: an unknown login gets the same options as
// "" (no allow list), so the answer does not tell which logins exist.
func (s *Service) BeginLogin(ctx context.Context, token, login string) (json.RawMessage, error) {
	const op = "begin passkey sign-in"
	if s.st == nil {
		return nil, internal(op, errors.New("passkey: Attach was not called"))
	}
	if _, err := s.e.Session(ctx, token); err != nil {
		return nil, err
	}
	var userID int64
	var opts *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	var err error
	if login != "" {
		if u, lerr := s.e.UserByLogin(ctx, token, login); lerr == nil {
			wu, _, werr := s.webUser(ctx, u)
			if werr != nil {
				return nil, internal(op, werr)
			}
			if len(wu.creds) > 0 {
				userID = u.ID
				opts, sd, err = s.w.BeginLogin(wu, webauthn.WithUserVerification(s.uv))
			}
		}
	}
	if opts == nil && err == nil {
		opts, sd, err = s.w.BeginDiscoverableLogin(webauthn.WithUserVerification(s.uv))
	}
	if err != nil {
		return nil, internal(op, err)
	}
	if err := s.saveChallenge(ctx, "login", userID, sd); err != nil {
		return nil, internal(op, err)
	}
	return json.Marshal(opts)
}

// VerifyToken implements identity.TokenVerifier: token is the browser's answer (the JSON of
// the PublicKeyCredential) to BeginLogin's options. It takes the challenge (single use,
// unexpired), checks origin, relying party, user verification and signature against the
// stored passkey, and requires the sign counter to grow (unless the authenticator keeps none:
// both zero): a counter that does not grow is a cloned authenticator, refused and logged. It
// returns the subject the store links the user under; errors wrap identity.ErrRejected.
func (s *Service) VerifyToken(ctx context.Context, token string) (identity.Claims, error) {
	if s.st == nil {
		return identity.Claims{}, errors.New("passkey: Attach was not called")
	}
	reject := func(format string, args ...any) (identity.Claims, error) {
		return identity.Claims{}, fmt.Errorf("%w: passkey: %s", identity.ErrRejected, fmt.Sprintf(format, args...))
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(token))
	if err != nil {
		return reject("malformed answer")
	}
	c, sd, err := s.takeChallenge(ctx, "login", parsed.Response.CollectedClientData.Challenge)
	if errors.Is(err, store.ErrNotFound) {
		return reject("unknown, used or expired challenge")
	}
	if err != nil {
		return identity.Claims{}, err
	}
	p, err := s.st.Passkey(ctx, parsed.RawID)
	if errors.Is(err, store.ErrNotFound) {
		return reject("unknown passkey")
	}
	if err != nil {
		return identity.Claims{}, err
	}
	if c.UserID != 0 && c.UserID != p.UserID {
		return reject("passkey of another user")
	}
	var cred webauthn.Credential
	if err := json.Unmarshal(p.Credential, &cred); err != nil {
		return identity.Claims{}, err
	}
	wu := &user{id: p.UserID, creds: []webauthn.Credential{cred}}
	var got *webauthn.Credential
	if c.UserID != 0 {
		got, err = s.w.ValidateLogin(wu, sd, parsed)
	} else {
		got, err = s.w.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, wu.WebAuthnID()) {
				return nil, errors.New("user handle of another user")
			}
			return wu, nil
		}, sd, parsed)
	}
	if err != nil {
		return reject("%v", err)
	}
	if got.Authenticator.CloneWarning {
		s.log.Warn("passkey: sign counter did not grow: possible cloned authenticator; sign-in refused",
			"user", p.UserID, "stored", p.SignCount, "presented", parsed.Response.AuthenticatorData.Counter)
		return reject("sign counter did not grow")
	}
	data, err := json.Marshal(got)
	if err != nil {
		return identity.Claims{}, err
	}
	now := s.cfg.Now()
	if err := s.st.UsePasskey(ctx, p.ID, p.SignCount, got.Authenticator.SignCount, data, now); err != nil {
		if errors.Is(err, store.ErrStale) {
			s.log.Warn("passkey: concurrent sign-ins with one counter value: possible cloned authenticator; sign-in refused", "user", p.UserID)
			return reject("sign counter raced")
		}
		return identity.Claims{}, err
	}
	// A passkey whose authenticator verified the user (PIN or biometric) is two factors, and
	// satisfies the engine's second factor (TOTP) as well; one that only saw the user present
	// is one factor, and a user with TOTP is asked for a code after it.
	uv := parsed.Response.AuthenticatorData.Flags.HasUserVerified()
	return identity.Claims{Subject: strconv.FormatInt(p.UserID, 10), SignInProvider: Provider, IssuedAt: now, ExpiresAt: now,
		MultiFactor: uv}, nil
}

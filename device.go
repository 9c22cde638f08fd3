package authcube

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/authcube/authcube/internal/clientip"
	"github.com/authcube/authcube/internal/fsync"
	"github.com/authcube/authcube/store"
)

// Device tokens (S36, OWASP's "device cookies"): a user session carries one, and a sign-in that
// presents it for the same user later counts against the user's device budget instead of the
// account's, so an attacker guessing the password of an account does not lock its owner out of
// a device that signed in before. All device tokens of one user share that one budget (a
// token per sign-in must not be a fresh budget per token), and the client address's budget
// applies as always. A device token is not a credential: it signs nothing in, it only chooses
// the throttle budget. It expires DeviceTokenMaxAge after its session signed in; an expired
// token is ignored.
//
// A token is base64url (unpadded) of user id (8 bytes, big-endian) || nonce (16 bytes) ||
// issued day (4 bytes, big-endian days since 1970-01-01 UTC of the session's sign-in) ||
// HMAC-SHA-256(key, "authcube device token" || all of the former), 80 characters. The nonce is
// derived from the session id, so the token of a session can be computed again whenever the
// session is read; the key is the engine's and never leaves it.
const (
	deviceKeyFile   = "device.key"
	deviceKeyLen    = 32
	deviceNonceLen  = 16
	devicePayload   = 8 + deviceNonceLen + 4
	deviceRawLen    = devicePayload + sha256.Size
	deviceTokenLen  = (deviceRawLen*8 + 5) / 6
	deviceMACDomain = "authcube device token"
)

// DerivedKey returns a 32-byte key for purpose, derived from the engine's secret key (the one
// that signs device tokens): the same on every engine sharing the store (store/postgres) or the
// directory, and across restarts. It is for server code that must sign things every instance
// accepts, such as rest's upload and download URLs; distinct purposes give independent keys.
// The key is a secret: never log it or send it to a client.
func (e *Engine) DerivedKey(purpose string) []byte {
	m := hmac.New(sha256.New, e.deviceKey)
	m.Write([]byte("authcube derived key\x00"))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// loadDeviceKey returns the key that signs device tokens, created from Config.Rand on first
// use and then kept, so tokens survive a restart. A custom Store that is a store.Secrets
// (store/postgres is) keeps it, so that every engine sharing the store signs and accepts the
// same tokens; otherwise it is Dir/device.key (mode 0600). Without either (a custom Store,
// Blobs and Mailer and no Dir) it lives in memory only: after a restart earlier device tokens
// are ignored, and their owners get the account's budget again. A key file of the wrong size (a
// crash while writing it) is replaced, which ignores earlier tokens the same way; a stored key
// of the wrong size fails Open (it was written by something else).
func (e *Engine) loadDeviceKey(ctx context.Context) ([]byte, error) {
	if sec, ok := e.store.(store.Secrets); ok {
		key := make([]byte, deviceKeyLen)
		if err := e.readRand(key); err != nil {
			return nil, err
		}
		stored, err := sec.Secret(ctx, deviceKeyFile, key)
		if err != nil {
			return nil, err
		}
		if len(stored) != deviceKeyLen {
			return nil, errors.New("authcube: the stored device key has the wrong size")
		}
		return stored, nil
	}
	if e.cfg.Dir == "" {
		key := make([]byte, deviceKeyLen)
		return key, e.readRand(key)
	}
	path := filepath.Join(e.cfg.Dir, deviceKeyFile)
	key, err := os.ReadFile(path)
	if err == nil && len(key) == deviceKeyLen {
		return key, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, deviceKeyLen)
	if err := e.readRand(key); err != nil {
		return nil, err
	}
	// Written beside, synced and renamed into place, so a crash never leaves a short key.
	if err := fsync.WriteFile(e.cfg.Dir, deviceKeyFile, key, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// DeviceTokenMaxAge is how long a device token (Session.DeviceToken) counts after its session
// signed in: 90 days, to the day. Each sign-in gives the device a new token, so a device in
// use keeps its budget; an older token is ignored and its attempt gets the account's budget.
const DeviceTokenMaxAge = 90 * 24 * time.Hour

// deviceDay is the day number (days since 1970-01-01 UTC) of t.
func deviceDay(t time.Time) uint32 {
	return uint32(max(t.Unix(), 0) / 86400)
}

// deviceMAC is the signature of the payload (userID, nonce, issued day).
func (e *Engine) deviceMAC(raw []byte) []byte {
	m := hmac.New(sha256.New, e.deviceKey)
	m.Write([]byte(deviceMACDomain))
	m.Write(raw[:devicePayload])
	return m.Sum(nil)
}

// deviceToken returns the device token of the user session with the id, signed in at
// signedIn.
func (e *Engine) deviceToken(userID int64, sessionID string, signedIn time.Time) string {
	raw := make([]byte, 8, deviceRawLen)
	binary.BigEndian.PutUint64(raw, uint64(userID))
	nonce := sha256.Sum256([]byte("authcube device nonce\x00" + sessionID))
	raw = append(raw, nonce[:deviceNonceLen]...)
	raw = binary.BigEndian.AppendUint32(raw, deviceDay(signedIn))
	raw = append(raw, e.deviceMAC(raw)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// parseDeviceToken checks a device token's form, signature and age, and returns its user id
// and the throttle key of that user's devices (one for all of the user's tokens). Anything
// else (empty, malformed, forged, signed by another key, older than DeviceTokenMaxAge) is not
// a device token: ok is false and the attempt gets the ordinary budgets.
func (e *Engine) parseDeviceToken(token string) (userID int64, key throttleKey, ok bool) {
	if len(token) != deviceTokenLen {
		return 0, throttleKey{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != deviceRawLen {
		return 0, throttleKey{}, false
	}
	if !hmac.Equal(raw[devicePayload:], e.deviceMAC(raw)) {
		return 0, throttleKey{}, false
	}
	issued := int64(binary.BigEndian.Uint32(raw[8+deviceNonceLen:]))
	if today := int64(deviceDay(e.now())); today-issued > int64(DeviceTokenMaxAge/(24*time.Hour)) {
		return 0, throttleKey{}, false
	}
	userID = int64(binary.BigEndian.Uint64(raw))
	return userID, throttleKey{key: digestKey("device", strconv.FormatInt(userID, 10)), p: e.cfg.Throttle}, userID > 0
}

// parseClientAddr reads Credentials.ClientAddr: "" is unknown (the zero Addr); an IP address,
// or an address and port as http.Request.RemoteAddr has it ("203.0.113.7:51234",
// "[2001:db8::1]:443"). The port and any zone are dropped, and IPv4-mapped IPv6 addresses count
// as IPv4. Text longer than clientip.MaxAddrLen is refused before it is parsed (S30).
func parseClientAddr(op, s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	a, ok := clientip.ParseAddr(s)
	if !ok {
		return netip.Addr{}, invalid(op, "client_addr", "is not an IP address")
	}
	return a, nil
}

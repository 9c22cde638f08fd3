package authcube

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/internal/commonpw"
	"github.com/authcube/authcube/internal/pwhash"
	"github.com/authcube/authcube/store"
)

// HashParams are argon2id parameters. Hashes are stored as PHC strings
// ($argon2id$v=19$m=...,t=...,p=...$salt$key) with a 16-byte salt and a 32-byte key.
type HashParams struct {
	MemoryKiB   uint32 // argon2id m in KiB; DefaultHashParams: 19456 (OWASP)
	Iterations  uint32 // t; default 2
	Parallelism uint8  // p; default 1
}

// DefaultHashParams are OWASP's argon2id parameters: about 18 ms and 19 MiB per hash on one
// core. Config.Hashing's zero value means these.
var DefaultHashParams = HashParams{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

// weakerThan reports whether p costs less than q in any dimension.
func (p HashParams) weakerThan(q HashParams) bool {
	return p.MemoryKiB < q.MemoryKiB || p.Iterations < q.Iterations
}

const (
	saltLen = 16
	keyLen  = 32

	// Ceilings for stored parameters: a hash claiming more is refused before allocating, so a
	// tampered row cannot make a sign-in allocate gigabytes.
	maxMemoryKiB   = 256 << 10 // 256 MiB
	maxIterations  = 64
	maxParallelism = 16
)

// errBadHash marks a stored hash that cannot be used; sign-in then fails closed.
var errBadHash = errors.New("authcube: malformed or out-of-range password hash")

// hasher computes argon2id behind a semaphore of HashConcurrency slots: each hash allocates its
// whole memory cost, so unbounded concurrency would let a burst of sign-ins exhaust memory.
type hasher struct {
	params HashParams
	slots  chan struct{}
	rand   func([]byte) error

	dummyOnce sync.Once
	dummy     string // a hash no password verifies against, for unknown logins (S8)

	verifies atomic.Int64 // argon2id verifications run, for tests (S8)
	hashes   atomic.Int64 // argon2id hashes computed, for tests (S1)
}

func newHasher(p HashParams, concurrency int, rand func([]byte) error) *hasher {
	return &hasher{params: p, slots: make(chan struct{}, concurrency), rand: rand}
}

// acquire waits for a hashing slot or for ctx.
func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.slots }

// hash returns the PHC string of password (already checked and NFC-normalised).
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if err := h.rand(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	h.hashes.Add(1)
	key := argon2.IDKey([]byte(password), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, keyLen)
	return encodePHC(h.params, salt, key), nil
}

// verify reports whether password matches the PHC string phc, and whether phc was made with
// weaker parameters than the configured ones. An empty phc (a user without a password, or no
// user at all) is checked against a dummy hash, so every failure costs the same.
func (h *hasher) verify(ctx context.Context, phc, password string) (ok, weak bool, err error) {
	if phc == "" {
		h.dummyOnce.Do(func() {
			// A fixed salt is fine: no password is ever checked to succeed against it.
			h.dummy = encodePHC(h.params, make([]byte, saltLen), make([]byte, keyLen))
		})
		phc = h.dummy
		defer func() { ok, weak = false, false }()
	}
	if !strings.HasPrefix(phc, "$argon2id$") {
		return h.verifyForeign(ctx, phc, password)
	}
	p, salt, key, err := decodePHC(phc)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.verifies.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, p.weakerThan(h.params), nil
}

// verifyForeign verifies a hash imported from another system (S45): the one verify of the
// attempt, in a hashing slot like argon2id's. It is always weak, so that a successful sign-in
// replaces it with argon2id (S5). A form it does not know fails closed.
func (h *hasher) verifyForeign(ctx context.Context, hash, password string) (ok, weak bool, err error) {
	fh, err := pwhash.Parse(hash) // ceilings checked before anything is allocated
	if err != nil {
		return false, false, errBadHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	h.verifies.Add(1)
	return fh.Verify(password), true, nil
}

var b64 = base64.RawStdEncoding

func encodePHC(p HashParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decodePHC parses an argon2id PHC string, refusing parameters above the ceilings before any
// allocation they would cause.
func decodePHC(s string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, par uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &par); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, par) != parts[3] {
		return p, nil, nil, errBadHash
	}
	if m < 8*par || m > maxMemoryKiB || t < 1 || t > maxIterations || par < 1 || par > maxParallelism {
		return p, nil, nil, errBadHash
	}
	if len(parts[4]) > 128 || len(parts[5]) > 256 {
		return p, nil, nil, errBadHash
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return HashParams{MemoryKiB: m, Iterations: t, Parallelism: uint8(par)}, salt, key, nil
}

// checkNewPassword applies the local password rules (S1-S3) and returns the NFC form to hash.
// login and email are the user's own, which the password may not equal under the canonical
// comparison (S35): width and case folded and NFKC, so neither "MARVIN18" nor the fullwidth
// form of the email passes.
func (e *Engine) checkNewPassword(op, field, password, login, email string) (string, error) {
	p, err := canon.Password(password, e.cfg.PasswordMinLen)
	if err != nil {
		return "", invalidFrom(op, err)
	}
	switch {
	case commonpw.IsCommon(p):
		return "", invalid(op, field, "is too common")
	case sameIdentity(p, login) || sameIdentity(p, email):
		return "", invalid(op, field, "must not be the login or email")
	}
	return p, nil
}

// sameIdentity reports whether the password p equals the login or email id once both are
// folded (S35). An email is also compared in its canonical form, whose domain is ASCII
// (punycode).
func sameIdentity(p, id string) bool {
	if id == "" {
		return false
	}
	fp := canon.Fold(p)
	if fp == canon.Fold(id) {
		return true
	}
	if strings.Contains(id, "@") {
		if _, key, err := canon.Email(id); err == nil && fp == key {
			return true
		}
	}
	return false
}

// rehash upgrades a hash made with weaker parameters than the configured ones, after a
// successful verify (S5), and returns the hash now stored. It is a compare-and-swap on the
// verified hash: a password change that happened meanwhile wins, and then the sign-in fails
// where it checks the hash it verified. Any other failure is returned, and the sign-in fails
// closed (S29).
func (e *Engine) rehash(ctx context.Context, u store.User, password string) (string, error) {
	hash, err := e.hasher.hash(ctx, password)
	if err == nil {
		err = e.store.SetPasswordHash(context.WithoutCancel(ctx), u.ID, u.PasswordHash, hash)
	}
	switch {
	case errors.Is(err, store.ErrStale):
		return u.PasswordHash, nil
	case err != nil:
		return "", err
	}
	return hash, nil
}

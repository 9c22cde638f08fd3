// Package pwhash verifies password hashes made by other systems, so that users imported from
// them keep their passwords (S45): bcrypt ($2a$, $2b$, $2y$), Firebase's modified scrypt
// ($firescrypt$), standard scrypt ($scrypt$), PBKDF2-SHA256 and PBKDF2-SHA512 in PHC form
// ($pbkdf2-sha256$i=N,l=N$salt$key, or passlib's $pbkdf2-sha256$N$salt$key) and Django's form
// (pbkdf2_sha256$N$salt$key), and argon2i ($argon2i$). (argon2id is authcube's own hash and is
// verified by the engine.)
//
// [Parse] checks a hash's form and refuses parameters above the ceilings before anything is
// allocated, so that a crafted hash cannot make a sign-in allocate gigabytes or spin for
// minutes.
package pwhash

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// Ceilings on the parameters of an imported hash: a hash claiming more is refused.
const (
	MaxBcryptCost       = 16
	MaxPBKDF2Iterations = 2_000_000
	MaxScryptMemory     = 256 << 20 // bytes: 128 × N × r × p
	MaxArgon2MemoryKiB  = 256 << 10
	MaxArgon2Iterations = 64
	MaxArgon2Threads    = 16
	maxKeyLen           = 128
	maxSaltLen          = 128
	maxHashLen          = 1024 // bytes of the whole string
)

// ErrUnknown is returned by Parse for a hash that is not one of the supported forms, or whose
// parameters are out of range; its message says which.
var ErrUnknown = errors.New("unsupported password hash")

func unknown(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnknown, fmt.Sprintf(format, args...))
}

// Hash is a parsed foreign hash, ready to verify.
type Hash interface {
	// Verify reports whether password matches. It is safe for concurrent use.
	Verify(password string) bool
	// Scheme names the hash's form ("bcrypt", "firescrypt", ...).
	Scheme() string
}

// Parse parses s, checking its parameters against the ceilings before any allocation they
// would cause. An unsupported form or parameters out of range are an error wrapping ErrUnknown.
func Parse(s string) (Hash, error) {
	if len(s) > maxHashLen {
		return nil, unknown("longer than %d bytes", maxHashLen)
	}
	switch {
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$firescrypt$"):
		return parseFirescrypt(s)
	case strings.HasPrefix(s, "$scrypt$"):
		return parseScrypt(s)
	case strings.HasPrefix(s, "$pbkdf2-sha256$"), strings.HasPrefix(s, "$pbkdf2-sha512$"):
		return parsePBKDF2PHC(s)
	case strings.HasPrefix(s, "pbkdf2_sha256$"), strings.HasPrefix(s, "pbkdf2_sha512$"):
		return parseDjango(s)
	case strings.HasPrefix(s, "$argon2i$"):
		return parseArgon2i(s)
	}
	// Name the scheme only when it looks like one: the text may be a password stored in clear.
	if scheme, _, ok := strings.Cut(strings.TrimPrefix(s, "$"), "$"); ok && strings.HasPrefix(s, "$") &&
		len(scheme) <= 20 && strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyz0123456789-_") == "" {
		return nil, unknown("unknown scheme %q", scheme)
	}
	return nil, unknown("not a password hash of a known form")
}

// b64 decodes standard base64 with or without padding, and passlib's variant ('.' for '+').
func b64(s string) ([]byte, error) {
	s = strings.ReplaceAll(s, ".", "+")
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.Strict().DecodeString(s)
	}
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

// bcryptHash is a bcrypt hash; $2y$ (PHP's name) is $2b$.
type bcryptHash struct{ h []byte }

func parseBcrypt(s string) (Hash, error) {
	if len(s) != 60 {
		return nil, unknown("bcrypt: length %d, want 60", len(s))
	}
	cost, err := strconv.Atoi(s[4:6])
	if err != nil || s[6] != '$' || cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return nil, unknown("bcrypt: cost must be %d to %d", bcrypt.MinCost, MaxBcryptCost)
	}
	h := []byte("$2b$" + s[4:])
	if _, err := bcrypt.Cost(h); err != nil {
		return nil, unknown("bcrypt: %v", err)
	}
	return bcryptHash{h}, nil
}

func (b bcryptHash) Scheme() string { return "bcrypt" }

// Verify refuses passwords longer than bcrypt's 72 bytes rather than comparing a prefix: no
// truncation (S2).
func (b bcryptHash) Verify(password string) bool {
	if len(password) > 72 {
		return false
	}
	return bcrypt.CompareHashAndPassword(b.h, []byte(password)) == nil
}

// scryptParams parses "ln=L,r=R,p=P" and checks the memory it takes.
func scryptParams(name, s string) (ln, r, p int, err error) {
	if n, err := fmt.Sscanf(s, "ln=%d,r=%d,p=%d", &ln, &r, &p); err != nil || n != 3 || fmt.Sprintf("ln=%d,r=%d,p=%d", ln, r, p) != s {
		return 0, 0, 0, unknown("%s: parameters must be ln=L,r=R,p=P", name)
	}
	if ln < 1 || ln > 24 || r < 1 || r > 32 || p < 1 || p > 16 || int64(128)<<ln*int64(r)*int64(p) > MaxScryptMemory {
		return 0, 0, 0, unknown("%s: parameters out of range (at most %d MiB)", name, MaxScryptMemory>>20)
	}
	return ln, r, p, nil
}

// firescrypt is Firebase's modified scrypt, in the form
// $firescrypt$ln=MEMCOST,r=ROUNDS,p=1$SALT$HASH$SALTSEPARATOR$SIGNERKEY (standard base64): the
// scrypt key of the password with SALT+SALTSEPARATOR encrypts SIGNERKEY with AES-256-CTR and a
// zero IV; the result is HASH. The project's hash key travels in every hash, as Firebase's
// exports need it to verify.
type firescrypt struct {
	ln, r, p                  int
	salt, key, sep, signerKey []byte
}

func parseFirescrypt(s string) (Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 7 {
		return nil, unknown("firescrypt: want $firescrypt$ln=L,r=R,p=1$salt$hash$separator$key")
	}
	ln, r, p, err := scryptParams("firescrypt", parts[2])
	if err != nil {
		return nil, err
	}
	f := &firescrypt{ln: ln, r: r, p: p}
	for i, dst := range []*[]byte{&f.salt, &f.key, &f.sep, &f.signerKey} {
		v, err := b64(parts[3+i])
		if err != nil || len(v) > maxKeyLen {
			return nil, unknown("firescrypt: part %d is not base64 of at most %d bytes", 3+i, maxKeyLen)
		}
		*dst = v
	}
	if len(f.key) == 0 || len(f.signerKey) == 0 || len(f.key) != len(f.signerKey) {
		return nil, unknown("firescrypt: hash and key must be as long")
	}
	return f, nil
}

func (f *firescrypt) Scheme() string { return "firescrypt" }

func (f *firescrypt) Verify(password string) bool {
	salt := append(append([]byte{}, f.salt...), f.sep...)
	dk, err := scrypt.Key([]byte(password), salt, 1<<f.ln, f.r, f.p, 32)
	if err != nil {
		return false
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return false
	}
	got := make([]byte, len(f.signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, f.signerKey)
	return subtle.ConstantTimeCompare(got, f.key) == 1
}

// scryptHash is standard scrypt: $scrypt$ln=L,r=R,p=P$SALT$KEY (N = 2^L; base64).
type scryptHash struct {
	ln, r, p  int
	salt, key []byte
}

func parseScrypt(s string) (Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 {
		return nil, unknown("scrypt: want $scrypt$ln=L,r=R,p=P$salt$key")
	}
	ln, r, p, err := scryptParams("scrypt", parts[2])
	if err != nil {
		return nil, err
	}
	salt, key, err := saltKey("scrypt", parts[3], parts[4])
	if err != nil {
		return nil, err
	}
	return &scryptHash{ln, r, p, salt, key}, nil
}

func (h *scryptHash) Scheme() string { return "scrypt" }

func (h *scryptHash) Verify(password string) bool {
	got, err := scrypt.Key([]byte(password), h.salt, 1<<h.ln, h.r, h.p, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(got, h.key) == 1
}

func saltKey(name, salt, key string) ([]byte, []byte, error) {
	s, err := b64(salt)
	if err != nil || len(s) > maxSaltLen {
		return nil, nil, unknown("%s: salt is not base64 of at most %d bytes", name, maxSaltLen)
	}
	k, err := b64(key)
	if err != nil || len(k) < 16 || len(k) > maxKeyLen {
		return nil, nil, unknown("%s: key is not base64 of 16 to %d bytes", name, maxKeyLen)
	}
	return s, k, nil
}

// pbkdf2Hash is PBKDF2 with HMAC-SHA256 or -SHA512.
type pbkdf2Hash struct {
	scheme    string
	h         func() hash.Hash
	iter      int
	salt, key []byte
}

func (h *pbkdf2Hash) Scheme() string { return h.scheme }

func (h *pbkdf2Hash) Verify(password string) bool {
	got, err := pbkdf2.Key(h.h, password, h.salt, h.iter, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(got, h.key) == 1
}

func pbkdf2Of(scheme, digest string, iter int) (*pbkdf2Hash, error) {
	if iter < 1 || iter > MaxPBKDF2Iterations {
		return nil, unknown("%s: iterations must be 1 to %d", scheme, MaxPBKDF2Iterations)
	}
	h := &pbkdf2Hash{scheme: scheme, iter: iter, h: sha256.New}
	if digest == "sha512" {
		h.h = sha512.New
	}
	return h, nil
}

// parsePBKDF2PHC parses $pbkdf2-sha256$i=N,l=L$salt$key and passlib's $pbkdf2-sha256$N$salt$key.
func parsePBKDF2PHC(s string) (Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 {
		return nil, unknown("pbkdf2: want $pbkdf2-sha256$i=N,l=N$salt$key")
	}
	digest := strings.TrimPrefix(parts[1], "pbkdf2-")
	var iter, l int
	if n, err := fmt.Sscanf(parts[2], "i=%d,l=%d", &iter, &l); err != nil || n != 2 || fmt.Sprintf("i=%d,l=%d", iter, l) != parts[2] {
		var err error
		if iter, err = strconv.Atoi(parts[2]); err != nil {
			return nil, unknown("pbkdf2: parameters must be i=N,l=N")
		}
		l = 0
	}
	h, err := pbkdf2Of("pbkdf2-"+digest, digest, iter)
	if err != nil {
		return nil, err
	}
	if h.salt, h.key, err = saltKey("pbkdf2", parts[3], parts[4]); err != nil {
		return nil, err
	}
	if l != 0 && l != len(h.key) {
		return nil, unknown("pbkdf2: l=%d but the key has %d bytes", l, len(h.key))
	}
	return h, nil
}

// parseDjango parses Django's pbkdf2_sha256$N$salt$key, whose salt is used as its text.
func parseDjango(s string) (Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		return nil, unknown("django pbkdf2: want pbkdf2_sha256$iterations$salt$key")
	}
	digest := strings.TrimPrefix(parts[0], "pbkdf2_")
	iter, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil, unknown("django pbkdf2: iterations are not a number")
	}
	h, err := pbkdf2Of("django-pbkdf2-"+digest, digest, iter)
	if err != nil {
		return nil, err
	}
	if len(parts[2]) > maxSaltLen {
		return nil, unknown("django pbkdf2: salt longer than %d bytes", maxSaltLen)
	}
	h.salt = []byte(parts[2])
	if h.key, err = base64.StdEncoding.Strict().DecodeString(parts[3]); err != nil || len(h.key) < 16 || len(h.key) > maxKeyLen {
		return nil, unknown("django pbkdf2: key is not base64 of 16 to %d bytes", maxKeyLen)
	}
	return h, nil
}

// argon2iHash is argon2i in PHC form, version 19.
type argon2iHash struct {
	m, t      uint32
	p         uint8
	salt, key []byte
}

func parseArgon2i(s string) (Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return nil, unknown("argon2i: want $argon2i$v=19$m=M,t=T,p=P$salt$key")
	}
	var m, t, p uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 || fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] {
		return nil, unknown("argon2i: parameters must be m=M,t=T,p=P")
	}
	if p < 1 || p > MaxArgon2Threads || m < 8*p || m > MaxArgon2MemoryKiB || t < 1 || t > MaxArgon2Iterations {
		return nil, unknown("argon2i: parameters out of range")
	}
	salt, key, err := saltKey("argon2i", parts[4], parts[5])
	if err != nil {
		return nil, err
	}
	return &argon2iHash{m, t, uint8(p), salt, key}, nil
}

func (h *argon2iHash) Scheme() string { return "argon2i" }

func (h *argon2iHash) Verify(password string) bool {
	got := argon2.Key([]byte(password), h.salt, h.t, h.m, h.p, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// Firebase formats a Firebase export's hash with the project's parameters (standard base64
// inputs, as `firebase auth:export` and the console give them) as a $firescrypt$ hash.
func Firebase(hash, salt, saltSeparator, signerKey string, rounds, memCost int) string {
	return fmt.Sprintf("$firescrypt$ln=%d,r=%d,p=1$%s$%s$%s$%s", memCost, rounds, salt, hash, saltSeparator, signerKey)
}

package pwhash_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"github.com/authcube/authcube/internal/pwhash"
)

// The sample of Firebase's own scrypt tool (github.com/firebase/scrypt, README): the project's
// parameters and one exported user.
const (
	fbSignerKey = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
	fbSaltSep   = "Bw=="
	fbSalt      = "42xEC+ixf3L2lw=="
	fbHash      = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
	fbPassword  = "user1password"
)

// FirebaseVector is Firebase's published vector as a $firescrypt$ hash.
var FirebaseVector = pwhash.Firebase(fbHash, fbSalt, fbSaltSep, fbSignerKey, 8, 14)

func TestFirebaseVector(t *testing.T) {
	h, err := pwhash.Parse(FirebaseVector)
	require.NoError(t, err)
	assert.Equal(t, "firescrypt", h.Scheme())
	assert.True(t, h.Verify(fbPassword))
	assert.False(t, h.Verify(fbPassword+"x"))
	assert.False(t, h.Verify("user1passwor"))
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

func TestFormats(t *testing.T) {
	const pw = "correct horse battery"
	salt := []byte("0123456789abcdef")
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	require.NoError(t, err)
	p256, _ := pbkdf2.Key(sha256.New, pw, salt, 1000, 32)
	p512, _ := pbkdf2.Key(sha512.New, pw, salt, 1000, 64)
	django, _ := pbkdf2.Key(sha256.New, pw, []byte("djsalt"), 1000, 32)
	sc, _ := scrypt.Key([]byte(pw), salt, 1<<10, 8, 1, 32)
	a2i := argon2.Key([]byte(pw), salt, 2, 64, 1, 32)
	cases := map[string]string{
		"bcrypt":         string(bc),
		"bcrypt 2y":      "$2y$" + string(bc[4:]),
		"bcrypt 2a":      "$2a$" + string(bc[4:]),
		"pbkdf2-sha256":  "$pbkdf2-sha256$i=1000,l=32$" + b64(salt) + "$" + b64(p256),
		"pbkdf2-sha512":  "$pbkdf2-sha512$i=1000,l=64$" + b64(salt) + "$" + b64(p512),
		"passlib sha256": "$pbkdf2-sha256$1000$" + b64(salt) + "$" + b64(p256),
		"django":         "pbkdf2_sha256$1000$djsalt$" + base64.StdEncoding.EncodeToString(django),
		"scrypt":         "$scrypt$ln=10,r=8,p=1$" + b64(salt) + "$" + b64(sc),
		"argon2i":        "$argon2i$v=19$m=64,t=2,p=1$" + b64(salt) + "$" + b64(a2i),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := pwhash.Parse(s)
			require.NoError(t, err)
			assert.True(t, h.Verify(pw))
			assert.False(t, h.Verify(pw+"!"))
			assert.False(t, h.Verify(pw[:len(pw)-1]))
		})
	}
}

// TestBcryptNoTruncation: bcrypt reads 72 bytes; a longer password never verifies (S2).
func TestBcryptNoTruncation(t *testing.T) {
	long := make([]byte, 72)
	for i := range long {
		long[i] = 'a'
	}
	bc, err := bcrypt.GenerateFromPassword(long, 4)
	require.NoError(t, err)
	h, err := pwhash.Parse(string(bc))
	require.NoError(t, err)
	assert.True(t, h.Verify(string(long)))
	assert.False(t, h.Verify(string(long)+"b"))
}

// TestCeilings: parameters above the ceilings are refused by Parse, before the memory or the
// work they claim (S45).
func TestCeilings(t *testing.T) {
	salt, key := b64([]byte("0123456789abcdef")), b64(make([]byte, 32))
	bad := map[string]string{
		"bcrypt cost 31":   "$2b$31$" + "abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
		"scrypt 1 GiB":     "$scrypt$ln=20,r=8,p=1$" + salt + "$" + key,
		"scrypt p huge":    "$scrypt$ln=14,r=8,p=200$" + salt + "$" + key,
		"firescrypt 2 GiB": pwhash.Firebase(fbHash, fbSalt, fbSaltSep, fbSignerKey, 8, 21),
		"pbkdf2 1e9":       "$pbkdf2-sha256$i=1000000000,l=32$" + salt + "$" + key,
		"django 1e9":       "pbkdf2_sha256$1000000000$s$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"argon2i 4 GiB":    "$argon2i$v=19$m=4194304,t=2,p=1$" + salt + "$" + key,
		"argon2i t=1000":   "$argon2i$v=19$m=64,t=1000,p=1$" + salt + "$" + key,
		"unknown md5":      "$1$saltsalt$hash",
		"sha1 django":      "sha1$salt$hash",
		"plain text":       "hunter2",
		"argon2i v=16":     "$argon2i$v=16$m=64,t=2,p=1$" + salt + "$" + key,
		"pbkdf2 l lies":    "$pbkdf2-sha256$i=1000,l=16$" + salt + "$" + key,
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := pwhash.Parse(s)
			runtime.ReadMemStats(&after)
			require.ErrorIs(t, err, pwhash.ErrUnknown)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "refused before allocating")
			assert.NotContains(t, err.Error(), key, "the message carries no hash")
		})
	}
}

func ExampleParse() {
	h, err := pwhash.Parse(FirebaseVector)
	fmt.Println(err, h.Scheme(), h.Verify(fbPassword))
	// Output: <nil> firescrypt true
}

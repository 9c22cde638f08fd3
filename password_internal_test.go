package authcube

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// argon2idKnownAnswer is the PHC string of "password" with the salt "somesaltsomesalt", t=2,
// m=64 KiB, p=1 and a 32-byte key, computed by an implementation independent of
// golang.org/x/crypto (the reference C implementation, Debian's argon2 package):
//
//	echo -n password | argon2 somesaltsomesalt -id -t 2 -k 64 -p 1 -l 32 -e
//
// golang.org/x/crypto/argon2 cannot take RFC 9106's secret or associated data, so RFC 9106's
// own vectors do not apply. The same command with -i (argon2i) gives the key
// a5b8a041cb991c823dc0f05923951199cd0ba7ce83fed13471a20290b84b1534, which must not verify.
const argon2idKnownAnswer = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Gpj7qOY5RCXJvcMzqcdQqvgR3wcPX7SleI4c9NtXk6E"

// S4: hashing is argon2id itself, with the parameters and salt it claims: a known answer of
// the reference implementation verifies, and hashing with the same salt reproduces it.
func TestArgon2idKnownAnswer(t *testing.T) {
	p := HashParams{MemoryKiB: 64, Iterations: 2, Parallelism: 1}
	h := newHasher(p, 1, func(b []byte) error { copy(b, "somesaltsomesalt"); return nil })

	got, err := h.hash(context.Background(), "password")
	require.NoError(t, err)
	assert.Equal(t, argon2idKnownAnswer, got, "hash of the known answer's input")

	ok, weak, err := h.verify(context.Background(), argon2idKnownAnswer, "password")
	require.NoError(t, err)
	assert.True(t, ok, "the reference implementation's argon2id hash verifies")
	assert.False(t, weak)
	ok, _, err = h.verify(context.Background(), argon2idKnownAnswer, "passwore")
	require.NoError(t, err)
	assert.False(t, ok, "another password does not")

	// The argon2i key of the same input is not accepted as argon2id.
	argon2i := "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$pbigQcuZHII9wPBZI5URmc0Lp86D/tE0caICkLhLFTQ"
	ok, _, err = h.verify(context.Background(), argon2i, "password")
	require.NoError(t, err)
	assert.False(t, ok, "an argon2i key does not verify")
}

// S5: a stored hash whose parameters exceed the ceilings, or that is otherwise malformed, is
// refused by decodePHC before argon2 allocates anything.
func TestDecodePHCRefusesAbsurdParameters(t *testing.T) {
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "Gpj7qOY5RCXJvcMzqcdQqvgR3wcPX7SleI4c9NtXk6E"
	phc := func(params string) string { return "$argon2id$v=19$" + params + "$" + salt + "$" + key }
	_, _, _, err := decodePHC(phc("m=64,t=2,p=1"))
	require.NoError(t, err, "the well-formed hash decodes")
	_, _, _, err = decodePHC(phc("m=262144,t=64,p=16"))
	require.NoError(t, err, "every ceiling itself is allowed")

	for name, s := range map[string]string{
		"memory over the ceiling":      phc("m=262145,t=1,p=1"),
		"4 GiB of memory":              phc("m=4194304,t=1,p=1"),
		"memory over uint32":           phc("m=4294967296,t=1,p=1"),
		"iterations over the ceiling":  phc("m=64,t=65,p=1"),
		"a billion iterations":         phc("m=64,t=1000000000,p=1"),
		"parallelism over the ceiling": phc("m=256,t=1,p=17"),
		"parallelism over uint8":       phc("m=4096,t=1,p=257"),
		"no iterations":                phc("m=64,t=0,p=1"),
		"no parallelism":               phc("m=64,t=1,p=0"),
		"memory under 8 per lane":      phc("m=15,t=1,p=2"),
		"negative memory":              phc("m=-64,t=2,p=1"),
		"leading zero":                 phc("m=064,t=2,p=1"),
		"plus sign":                    phc("m=+64,t=2,p=1"),
		"trailing text":                phc("m=64,t=2,p=1,x=1"),
		"reordered":                    phc("t=2,m=64,p=1"),
		"argon2i":                      strings.Replace(phc("m=64,t=2,p=1"), "argon2id", "argon2i", 1),
		"version 16":                   strings.Replace(phc("m=64,t=2,p=1"), "v=19", "v=16", 1),
		"short salt":                   "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbA$" + key,
		"short key":                    "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$c29tZXNhbHRzb21l",
		"huge salt":                    "$argon2id$v=19$m=64,t=2,p=1$" + strings.Repeat("A", 129) + "$" + key,
		"huge key":                     "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + strings.Repeat("A", 257),
		"bad base64":                   "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + key[:40] + "*==",
		"extra field":                  phc("m=64,t=2,p=1") + "$x",
		"empty":                        "",
	} {
		_, _, _, err := decodePHC(s)
		assert.ErrorIs(t, err, errBadHash, name)
	}
}

// S6: a caller waiting for a hashing slot stops waiting when its ctx ends, in hash and in
// verify alike.
func TestHashingSlotWaitHonoursContext(t *testing.T) {
	h := newHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1, func([]byte) error { return nil })
	require.NoError(t, h.acquire(context.Background())) // the one slot is taken
	defer h.release()

	for name, call := range map[string]func(context.Context) error{
		"hash": func(ctx context.Context) error { _, err := h.hash(ctx, "password"); return err },
		"verify": func(ctx context.Context) error {
			_, _, err := h.verify(ctx, argon2idKnownAnswer, "password")
			return err
		},
		"dummy verify": func(ctx context.Context) error { _, _, err := h.verify(ctx, "", "password"); return err },
	} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled, name)
		case <-time.After(10 * time.Second): // a failure deadline, not a wait for expiry
			t.Fatalf("%s: still waiting for a slot after its ctx ended", name)
		}
	}
	assert.Zero(t, h.hashes.Load()+h.verifies.Load(), "nothing was hashed without a slot")
}

// S8: the dummy verify of an unknown account costs what a real one costs: the configured
// parameters, a full-size salt and key.
func TestDummyVerifyUsesTheConfiguredParameters(t *testing.T) {
	for _, p := range []HashParams{
		DefaultHashParams,
		{MemoryKiB: 64, Iterations: 3, Parallelism: 2},
		{MemoryKiB: 32 << 10, Iterations: 1, Parallelism: 4},
	} {
		h := newHasher(p, 1, func([]byte) error { return nil })
		// A stored hash made by this hasher, to compare with.
		real, err := h.hash(context.Background(), "password")
		require.NoError(t, err)
		rp, rsalt, rkey, err := decodePHC(real)
		require.NoError(t, err)

		ok, weak, err := h.verify(context.Background(), "", "password")
		require.NoError(t, err)
		assert.False(t, ok, "nothing verifies against the dummy")
		assert.False(t, weak)
		dp, dsalt, dkey, err := decodePHC(h.dummy)
		require.NoError(t, err)
		assert.Equal(t, rp, dp, "the dummy's parameters are a real hash's")
		assert.Len(t, dsalt, len(rsalt))
		assert.Len(t, dkey, len(rkey))
		assert.Equal(t, int64(1), h.verifies.Load())
	}
}

// FuzzDecodePHC (R6): decodePHC never panics, and whatever it accepts is within the ceilings,
// so verifying against it cannot allocate more than they allow.
func FuzzDecodePHC(f *testing.F) {
	f.Add(argon2idKnownAnswer)
	f.Add(encodePHC(DefaultHashParams, make([]byte, saltLen), make([]byte, keyLen)))
	f.Add("$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Gpj7qOY5RCXJvcMzqcdQqvgR3wcPX7SleI4c9NtXk6E")
	f.Add("$argon2i$v=19$m=64,t=2,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := decodePHC(s)
		if err != nil {
			if err != errBadHash {
				t.Fatalf("error %v is not errBadHash", err)
			}
			return
		}
		if p.MemoryKiB > maxMemoryKiB || p.Iterations < 1 || p.Iterations > maxIterations ||
			p.Parallelism < 1 || p.Parallelism > maxParallelism || p.MemoryKiB < 8*uint32(p.Parallelism) {
			t.Fatalf("accepted parameters %+v out of range", p)
		}
		if len(salt) < 8 || len(key) < 16 || len(salt) > 96 || len(key) > 192 {
			t.Fatalf("accepted salt of %d bytes, key of %d", len(salt), len(key))
		}
		if q, _, _, err := decodePHC(encodePHC(p, salt, key)); err != nil || q != p {
			t.Fatalf("re-encoded %q does not decode to %+v: %v, %+v", s, p, err, q)
		}
	})
}

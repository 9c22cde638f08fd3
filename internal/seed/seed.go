// Package seed builds data directories with many users for benchmarks: through the SQLite store
// in big batches, with one precomputed password hash shared by every seeded user and realistic
// names, tags and phones. Built directories are cached between runs (under the user cache
// directory) and copied for each use, so a benchmark may write to its copy.
package seed

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
)

// Password is the password of every seeded user; Hash is its argon2id hash at m=64 KiB, t=1,
// p=1 (cheap, so that sign-in benchmarks measure what they configure, not the seed).
const (
	Password = "seeded password 1"
	Hash     = "$argon2id$v=19$m=64,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$OtDYLnDM6QftGhVNP7C3y/72qpBHmEIU1AwNfLoDRoE"
)

// Start is the creation time of the first seeded user; each next one is a second later.
var Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// version changes whenever the generated data or the schema changes, to invalidate caches.
var version = "v2-schema" + sqlite.SchemaID()

var (
	firstNames = strings.Fields(`Marvin Anna Zoë Ángel Mohammed Olivia Liam Emma Noah Ava Sophia
		Lucas Mia Amelia Ethan Harper Mateo Chloé Yuki Aarav Fatima Ivan Elif Kofi Ingrid Siobhán`)
	lastNames = strings.Fields(`Simon Samuel Karenina Smith García Müller Rossi Nakamura Kowalski
		Johansson Dubois Novák Okafor Haddad Petrov Silva Kim Nguyen Schmidt O'Brien Østergaard`)
	// Tags with skewed popularity: early ones are common.
	tags = strings.Fields(`iphone android apple web beta premium free eu us asia admin tester
		vip gamer music sports travel food photo dev design ops sales support newsletter`)
)

// User returns the i-th seeded user (0-based), deterministic for i.
func User(i int) store.User {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	login := fmt.Sprintf("user%07d", i)
	at := Start.Add(time.Duration(i) * time.Second)
	var ts []string
	seen := map[string]bool{}
	for n := 1 + r.IntN(3); len(ts) < n; {
		t := tags[int(float64(len(tags))*r.Float64()*r.Float64())] // skewed towards the start
		if !seen[t] {
			seen[t] = true
			ts = append(ts, t)
		}
	}
	return store.User{
		Login: login, LoginCanon: login,
		Email: login + "@example.org", EmailCanon: login + "@example.org",
		PasswordHash:  Hash,
		FullName:      firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))],
		Phone:         fmt.Sprintf("+44%09d", i),
		ExternalID:    fmt.Sprintf("ext-%d", i),
		Tags:          ts,
		CreatedAt:     at,
		UpdatedAt:     at,
		LastRequestAt: at,
	}
}

// Login returns the login of the i-th seeded user.
func Login(i int) string { return fmt.Sprintf("user%07d", i) }

// Dir returns a fresh copy, under tb.TempDir(), of a data directory holding n seeded users. The
// first call for an n builds the directory in the cache; later calls, also in later runs, copy
// it.
func Dir(tb testing.TB, n int) string {
	tb.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	src := filepath.Join(cache, "authcube-seed", fmt.Sprintf("%s-%d", version, n))
	if _, err := os.Stat(filepath.Join(src, "authcube.db")); err != nil {
		if err := build(src, n); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
	dst := tb.TempDir()
	if err := copyFile(filepath.Join(src, "authcube.db"), filepath.Join(dst, "authcube.db")); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	return dst
}

// build writes n users into a new directory at dir, through a temporary directory renamed into
// place, so an interrupted build leaves no half cache behind.
func build(dir string, n int) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "building-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(tmp, "authcube.db"), sqlite.Options{})
	if err != nil {
		return err
	}
	const batch = 10_000
	users := make([]store.User, 0, batch)
	for i := 0; i < n; i++ {
		users = append(users, User(i))
		if len(users) == batch || i == n-1 {
			if _, err := s.ImportUsers(ctx, users); err != nil {
				s.Close()
				return err
			}
			users = users[:0]
		}
	}
	// Fold the WAL into the database file, so the cache is one file.
	if _, err := s.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		s.Close()
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(tmp, dir)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

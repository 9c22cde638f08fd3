// Package seed builds data directories with many users for benchmarks: through the SQLite store
// in big batches, with one precomputed password hash shared by every seeded user and realistic
// names, tags and phones. Built directories are cached between runs (under the user cache
// directory) and copied for each use, so a benchmark may write to its copy.
package seed

import (
	"context"
	"fmt"
	"io"
	"math"
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
var version = "v3-schema" + sqlite.SchemaID()

var (
	// Given names, most common first: drawn with Zipf-like weights (see zipf), so the most
	// common is given to about 2% of users and the rarest to 0.3%, as in real populations.
	firstNames = strings.Fields(`Maria Mohammed José Anna Wei Olivia Liam Emma Noah Ava Sophia
		Lucas Mia Amelia Ethan Harper Mateo Chloé Yuki Aarav Fatima Ivan Elif Kofi Ingrid Siobhán
		Marvin Zoë Ángel James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
		William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa
		Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Paul
		Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah
		Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy
		Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Brenda Stephen Emma Larry
		Pamela Justin Nicole Scott Helen Brandon Samantha Benjamin Katherine Samuel Christine
		Hiroshi Sakura Aiko Chen Li Priya Rahul Ananya Arjun Omar Layla Yusuf Amina Olga Dmitri
		Agnieszka Piotr Lars Astrid Sven Freya Giulia Marco Francesca Luca Pierre Camille Hugo Léa
		Diego Lucía Sofía Pablo Carmen Jorge Kwame Ama Chinedu Ngozi Thabo Zanele Mateus Beatriz`)
	// Family names: half the users get one of these (Zipf-like again), the other half one built
	// from syllables (tens of thousands of distinct ones), the long tail of real populations.
	lastNames = strings.Fields(`Smith García Müller Rossi Nakamura Kowalski Johansson Dubois
		Novák Okafor Haddad Petrov Silva Kim Nguyen Schmidt O'Brien Østergaard Simon Samuel
		Karenina Johnson Williams Brown Jones Miller Davis Rodriguez Martinez Hernandez Lopez
		Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White
		Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres
		Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Wang
		Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Kumar Singh Sharma Patel Gupta
		Khan Ali Ahmed Hussain Suzuki Tanaka Watanabe Ito Yamamoto Kobayashi Sato Ivanov Smirnov
		Kuznetsov Popov Nowak Wiśniewski Wójcik Kamiński Lewandowski Fischer Weber Meyer Wagner
		Becker Schulz Hoffmann Bianchi Romano Colombo Ricci Marino Greco Bernard Moreau Laurent
		Lefebvre Leroy Fernández González Pérez Sánchez Martín Gómez Ruiz Díaz Álvarez Romero
		Jensen Nielsen Hansen Pedersen Andersen Larsen Eriksson Karlsson Nilsson Larsson Mensah
		Boateng Adeyemi Okonkwo Dlamini Nkosi Santos Oliveira Souza Costa Pereira Almeida`)
	syllables = strings.Fields(`ka ren li mo ta ne ro sa vi do mi la ko ri na be ha lo tu se
		ga mar tin ber vel dan sol kir an el os ur im ul ar en is ol`)
	// Tags with skewed popularity: early ones are common.
	tags = strings.Fields(`iphone android apple web beta premium free eu us asia admin tester
		vip gamer music sports travel food photo dev design ops sales support newsletter`)
)

// zipf draws an index below n with weight 1/(index+20): the head is common, the tail still
// drawn (1/(index+1) would give the first name to one user in six).
func zipf(r *rand.Rand, n int) int {
	const c = 20
	// The inverse of the weights' cumulative distribution, in the continuous approximation.
	x := c*math.Exp(r.Float64()*math.Log(float64(n+c)/c)) - c
	return min(n-1, int(x))
}

// fullName draws a realistic full name: see firstNames and lastNames.
func fullName(r *rand.Rand) string {
	first := firstNames[zipf(r, len(firstNames))]
	if r.IntN(2) == 0 {
		return first + " " + lastNames[zipf(r, len(lastNames))]
	}
	var last strings.Builder
	for range 2 + r.IntN(2) {
		last.WriteString(syllables[r.IntN(len(syllables))])
	}
	name := last.String()
	return first + " " + strings.ToUpper(name[:1]) + name[1:]
}

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
		FullName:      fullName(r),
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

package main

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authcube/authcube"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the authcube command once per test run, into a temporary directory.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authcube-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "authcube")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// cli runs the built binary with stdin and returns stdout, stderr and the exit code.
func cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

// openDir opens the engine of dir (the CLI must not be running on it).
func openDir(t *testing.T, dir string) *authcube.Engine {
	t.Helper()
	e, err := authcube.Open(t.Context(), authcube.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return e
}

func signIn(t *testing.T, e *authcube.Engine, c authcube.Credentials) (authcube.Session, error) {
	t.Helper()
	return e.CreateUserSession(t.Context(), c)
}

const pw = "correct horse battery"

func TestUsersCLI(t *testing.T) {
	dir := t.TempDir()
	d := []string{"--dir", dir}

	out, errs, code := cli(t, pw+"\n", append([]string{"users", "create", "--login", "ann", "--email", "ann@example.com",
		"--full-name", "Ann Lee", "--tags", "a,b", "--password-stdin", "--json"}, d...)...)
	require.Equal(t, exitOK, code, errs)
	var created userJSON
	require.NoError(t, json.Unmarshal([]byte(out), &created))
	assert.Equal(t, "ann", created.Login)
	assert.Equal(t, []string{"a", "b"}, created.Tags)
	assert.NotContains(t, out+errs, pw)

	_, errs, code = cli(t, pw+"\n", append([]string{"users", "create", "--login", "ANN", "--password-stdin"}, d...)...)
	assert.Equal(t, exitConflict, code, errs)
	_, errs, code = cli(t, "password1234\n", append([]string{"users", "create", "--login", "bob", "--password-stdin"}, d...)...)
	assert.Equal(t, exitInvalid, code, errs)
	assert.Contains(t, errs, "password")
	_, _, code = cli(t, "", append([]string{"users", "create", "--login", "bob"}, d...)...)
	assert.Equal(t, exitUsage, code, "no terminal and no --password-stdin: refused")
	_, _, code = cli(t, "", append([]string{"users", "frobnicate"}, d...)...)
	assert.Equal(t, exitUsage, code)
	_, _, code = cli(t, pw+"\n", append([]string{"users", "create", "--email", "bob@example.com", "--password-stdin"}, d...)...)
	require.Equal(t, exitOK, code)

	out, _, code = cli(t, "", append([]string{"users", "list"}, d...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "LOGIN")
	assert.Contains(t, out, "ann@example.com")
	assert.Contains(t, out, "bob@example.com")
	out, _, code = cli(t, "", append([]string{"users", "list", "--json", "--limit", "1"}, d...)...)
	require.Equal(t, exitOK, code)
	var list []userJSON
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 1)

	out, _, code = cli(t, "", append([]string{"users", "show", "ANN@example.com"}, d...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "Ann Lee")
	_, _, code = cli(t, "", append([]string{"users", "show", "999"}, d...)...)
	assert.Equal(t, exitNotFound, code)

	// Sessions made by the application; then the CLI lists and ends them.
	e := openDir(t, dir)
	s1, err := signIn(t, e, authcube.Credentials{Login: "ann", Password: pw})
	require.NoError(t, err)
	s2, err := signIn(t, e, authcube.Credentials{Login: "ann", Password: pw})
	require.NoError(t, err)
	_, errs, code = cli(t, "", append([]string{"stats"}, d...)...)
	assert.Equal(t, exitLocked, code, "the engine holds the directory")
	assert.Contains(t, errs, "in use")
	require.NoError(t, e.Close())

	out, _, code = cli(t, "", append([]string{"stats", "--json"}, d...)...)
	require.Equal(t, exitOK, code)
	var st map[string]int64
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	assert.Equal(t, int64(2), st["users"])
	assert.Equal(t, int64(2), st["user_sessions"])

	out, _, code = cli(t, "", append([]string{"users", "sessions", "ann"}, d...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, s1.ID)
	assert.Contains(t, out, s2.ID)
	_, _, code = cli(t, "", append([]string{"users", "revoke", "ann", "--session", s1.ID}, d...)...)
	require.Equal(t, exitOK, code)
	_, _, code = cli(t, "", append([]string{"users", "revoke", "ann"}, d...)...)
	assert.Equal(t, exitUsage, code)
	e = openDir(t, dir)
	_, err = e.Session(t.Context(), s1.Token)
	assert.ErrorIs(t, err, authcube.ErrSessionRevoked)
	_, err = e.Session(t.Context(), s2.Token)
	require.NoError(t, err)
	require.NoError(t, e.Close())

	// A new password (no old one) ends the remaining session.
	const newPW = "a brand new secret"
	_, errs, code = cli(t, newPW+"\n", append([]string{"users", "update", "ann", "--password-stdin", "--phone", "+1 415 555 0100"}, d...)...)
	require.Equal(t, exitOK, code, errs)
	// Disabled: the right password is told apart, a wrong one is not.
	_, errs, code = cli(t, "", append([]string{"users", "disable", "ann"}, d...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, errs, "event=UserDisabled", "the audit trail on stderr (S44)")
	assert.Contains(t, errs, "admin=true")
	assert.NotContains(t, errs, "outbox", "routine Info records stay out without --verbose")
	e = openDir(t, dir)
	_, err = e.Session(t.Context(), s2.Token)
	assert.ErrorIs(t, err, authcube.ErrSessionRevoked)
	_, err = signIn(t, e, authcube.Credentials{Login: "ann", Password: newPW})
	assert.ErrorIs(t, err, authcube.ErrUserDisabled)
	_, err = signIn(t, e, authcube.Credentials{Login: "ann", Password: pw})
	assert.ErrorIs(t, err, authcube.ErrInvalidCredentials)
	require.NoError(t, e.Close())
	_, _, code = cli(t, "", append([]string{"users", "enable", "ann"}, d...)...)
	require.Equal(t, exitOK, code)
	e = openDir(t, dir)
	_, err = signIn(t, e, authcube.Credentials{Login: "ann", Password: newPW})
	require.NoError(t, err)
	u, err := e.Admin().UserByLogin(t.Context(), "ann")
	require.NoError(t, err)
	assert.Equal(t, "+14155550100", u.Phone)
	require.NoError(t, e.Close())

	out, _, code = cli(t, "", append([]string{"users", "delete", "bob@example.com"}, d...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "deleted")
	_, _, code = cli(t, "", append([]string{"users", "delete", "bob@example.com"}, d...)...)
	assert.Equal(t, exitNotFound, code)
}

// Firebase's published sample (github.com/firebase/scrypt): project parameters and one user,
// whose password is "user1password".
const (
	fbKey  = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
	fbSep  = "Bw=="
	fbSalt = "42xEC+ixf3L2lw=="
	fbHash = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// TestImportFormatsSignInAndExport: users of every format sign in with their own passwords and
// come out of export with argon2id hashes; export then import round-trips.
func TestImportFormatsSignInAndExport(t *testing.T) {
	dir := t.TempDir()
	d := []string{"--dir", dir}
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 5)
	require.NoError(t, err)
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, pw, salt, 2000, 32)
	require.NoError(t, err)
	raw := base64.RawStdEncoding
	pbkdf2Hash := "$pbkdf2-sha256$i=2000,l=32$" + raw.EncodeToString(salt) + "$" + raw.EncodeToString(key)

	jsonl := writeFile(t, "users.jsonl", fmt.Sprintf(`{"login":"bcrypt_user","email":"b@example.com","password_hash":%q,"tags":["old"],"created_at":"2020-01-02T03:04:05Z"}
{"id":77,"login":"pbkdf2_user","password_hash":%q,"full_name":"P K","custom_data":"{\"x\":1}"}

{"login":"x","password_hash":""}
{"login":"unknown_hash","password_hash":"$1$abc$def"}
{"login":"typo","pasword_hash":"oops"}
`, bc, pbkdf2Hash))
	out, errs, code := cli(t, "", append([]string{"users", "import", "--format", "jsonl", "--dry-run", jsonl}, d...)...)
	assert.Equal(t, exitInvalid, code)
	assert.Contains(t, out, "2 valid")
	assert.Contains(t, errs, "line 4: login:")
	assert.Contains(t, errs, "line 5: password_hash: unknown scheme")
	assert.Contains(t, errs, "line 6: not a user object")
	_, _, code = cli(t, "", append([]string{"stats", "--json"}, d...)...)
	require.Equal(t, exitOK, code)

	out, errs, code = cli(t, "", append([]string{"users", "import", "--format", "jsonl", jsonl}, d...)...)
	assert.Equal(t, exitInvalid, code, "bad lines make the exit code, the good ones are in")
	assert.Contains(t, out, "imported 2")
	assert.Contains(t, errs, "line 5:")

	fb := writeFile(t, "firebase.json", fmt.Sprintf(`{"users": [
  {"localId": "Ijat10wPVX6ok6HFhgjMfdkdbXd2", "email": "user1@example.com", "emailVerified": true,
   "passwordHash": %q, "salt": %q, "displayName": "User One", "createdAt": "1577934245000", "providerUserInfo": []}
]}`, fbHash, fbSalt))
	_, _, code = cli(t, "", append([]string{"users", "import", "--format", "firebase", "--hash-key", fbKey,
		"--salt-separator", fbSep, "--mem-cost", "31", fb}, d...)...)
	assert.Equal(t, exitUsage, code, "parameters beyond the ceilings are refused up front")
	out, errs, code = cli(t, "", append([]string{"users", "import", "--format", "firebase", "--hash-key", fbKey,
		"--salt-separator", fbSep, "--rounds", "8", "--mem-cost", "14", fb}, d...)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, "imported 1")

	sb := writeFile(t, "supabase.csv", fmt.Sprintf("instance_id,id,email,encrypted_password,created_at,phone,raw_user_meta_data\n"+
		",6f0e4c1e-aaaa-bbbb-cccc-111111111111,sb@example.com,%s,2023-05-01 10:00:00.123456+00,,\"{\"\"full_name\"\": \"\"Supa Base\"\"}\"\n", bc))
	_, errs, code = cli(t, "", append([]string{"users", "import", "--format", "supabase", sb}, d...)...)
	require.Equal(t, exitOK, code, errs)
	pb := writeFile(t, "pocketbase.json", fmt.Sprintf(`[{"id":"pbid12345678901","username":"pocket_user","email":"pb@example.com","name":"Pocket","passwordHash":%q,"created":"2024-01-01 10:00:00.000Z"}]`, bc))
	_, errs, code = cli(t, "", append([]string{"users", "import", "--format", "pocketbase", pb}, d...)...)
	require.Equal(t, exitOK, code, errs)

	// A rerun finds everything there; a conflict stops or skips.
	out, _, code = cli(t, "", append([]string{"users", "import", "--format", "firebase", "--hash-key", fbKey, "--salt-separator", fbSep, fb}, d...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "already there 1")
	clash := writeFile(t, "clash.jsonl", `{"login":"new_one"}
{"login":"BCRYPT_USER","email":"other@example.com"}
{"login":"after"}
`)
	_, errs, code = cli(t, "", append([]string{"users", "import", "--format", "jsonl", clash}, d...)...)
	assert.Equal(t, exitConflict, code)
	assert.Contains(t, errs, "line 2: login: already taken; stopped")
	_, errs, code = cli(t, "", append([]string{"users", "import", "--format", "jsonl", "--on-conflict", "skip", clash}, d...)...)
	assert.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "line 2: skipped: login: already taken")

	e := openDir(t, dir)
	for _, c := range []authcube.Credentials{
		{Login: "bcrypt_user", Password: pw}, {Login: "pbkdf2_user", Password: pw},
		{Email: "user1@example.com", Password: "user1password"}, {Email: "sb@example.com", Password: pw},
		{Login: "pocket_user", Password: pw},
	} {
		bad := c
		bad.Password += "!"
		_, err := signIn(t, e, bad)
		assert.ErrorIs(t, err, authcube.ErrInvalidCredentials)
		_, err = signIn(t, e, c)
		require.NoError(t, err, "%s%s", c.Login, c.Email)
	}
	u, err := e.Admin().User(t.Context(), 77)
	require.NoError(t, err)
	assert.Equal(t, "pbkdf2_user", u.Login)
	u, err = e.Admin().UserByEmail(t.Context(), "sb@example.com")
	require.NoError(t, err)
	assert.Equal(t, "Supa Base", u.FullName)
	require.NoError(t, e.Close())

	exported, errs, code := cli(t, "", append([]string{"users", "export", "--format", "jsonl"}, d...)...)
	require.Equal(t, exitOK, code, errs)
	lines := strings.Split(strings.TrimSpace(exported), "\n")
	require.Len(t, lines, 7) // 5 signed in, new_one, after
	for _, l := range lines {
		var j jsonlUser
		require.NoError(t, json.Unmarshal([]byte(l), &j))
		if j.Login == "new_one" || j.Login == "after" {
			assert.Empty(t, j.PasswordHash)
			continue
		}
		assert.True(t, strings.HasPrefix(j.PasswordHash, "$argon2id$"), "%s: %s", j.Login, j.PasswordHash)
	}
	assert.Contains(t, exported, `"created_at":"2020-01-02T03:04:05Z"`)
	assert.Contains(t, exported, `"tags":["old"]`)

	// Round trip into a new directory: the same export.
	dir2 := t.TempDir()
	_, errs, code = cli(t, exported, "users", "import", "--dir", dir2, "--format", "jsonl", "-")
	require.Equal(t, exitOK, code, errs)
	again, _, code := cli(t, "", "users", "export", "--dir", dir2)
	require.Equal(t, exitOK, code)
	assert.Equal(t, exported, again)
	e = openDir(t, dir2)
	_, err = signIn(t, e, authcube.Credentials{Email: "user1@example.com", Password: "user1password"})
	require.NoError(t, err)
	require.NoError(t, e.Close())
}

// TestImportPlainProgress: without a terminal, progress is plain lines on stderr.
func TestImportPlainProgress(t *testing.T) {
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "{\"login\":\"user_%d\"}\n", i)
	}
	_, errs, code := cli(t, b.String(), "users", "import", "--dir", t.TempDir(), "--format", "jsonl", "--batch", "7", "-")
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, errs, "importing: 50 users")
	assert.NotContains(t, errs, "\r", "no bar without a terminal")
}

// TestUsersCLIPostgres runs the admin commands over the PostgreSQL store.
func TestUsersCLIPostgres(t *testing.T) {
	url := os.Getenv("AUTHCUBE_TEST_POSTGRES")
	if url == "" {
		t.Skip("AUTHCUBE_TEST_POSTGRES is not set: set it to a PostgreSQL URL (postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL tests")
	}
	schema := fmt.Sprintf("cli_%d", os.Getpid())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err == nil {
			conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			conn.Close(context.Background())
		}
	})
	pg := []string{"--postgres", url, "--schema", schema, "--dir", t.TempDir()}
	_, errs, code := cli(t, pw+"\n", append([]string{"users", "create", "--login", "pgann", "--password-stdin"}, pg...)...)
	require.Equal(t, exitOK, code, errs)
	out, errs, code := cli(t, "", append([]string{"users", "export"}, pg...)...)
	require.Equal(t, exitOK, code, errs)
	assert.Contains(t, out, `"login":"pgann"`)
	_, errs, code = cli(t, out, append([]string{"users", "import", "--format", "jsonl", "-"}, pg...)...)
	require.Equal(t, exitOK, code, errs)
	out, _, code = cli(t, "", append([]string{"stats", "--json"}, pg...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, `"users": 1`)
	_, _, code = cli(t, "", append([]string{"users", "disable", "pgann"}, pg...)...)
	require.Equal(t, exitOK, code)
	out, _, code = cli(t, "", append([]string{"users", "show", "pgann", "--json"}, pg...)...)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, `"disabled": true`)
}

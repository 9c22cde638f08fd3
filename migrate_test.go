package authcube_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/store/sqlite"
)

// testdata/schema1.sql is a database of the first released schema (the statements of
// store/sqlite/migrations/0001_init.sql) with users, tags in both users.tags and user_tags, and
// sessions, as authcube 1 wrote them. Opening it upgrades it with its data kept. (A database
// newer than the code is refused: TestOpenRefusesNewerSchema.)
const (
	schema1Password    = "fixture password 1" // every fixture user's password
	schema1UserToken   = "oaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2-v8A"
	schema1AppToken    = "srO0tba3uLm6u7y9vr_AwcLDxMXGx8jJysvMzc7P0NE"
	schema1SessionID   = "5f0c2a3e-8d1b-4c6f-9a2e-1b3c4d5e6f70"
	schema1FixturePath = "testdata/schema1.sql"
)

// schema1Now is shortly after the fixture's sessions were last used (01:30), so they are live.
var schema1Now = time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)

// schema1Database builds Dir/authcube.db from the fixture with the plain driver, as authcube 1 left it.
func schema1Database(t *testing.T) string {
	t.Helper()
	fixture, err := os.ReadFile(schema1FixturePath)
	require.NoError(t, err)
	// The fixture starts with the first migration exactly: a released migration never changes.
	first, err := os.ReadFile("store/sqlite/migrations/0001_init.sql")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(fixture), string(first)),
		"%s must begin with the text of migration 0001, which must not change once released", schema1FixturePath)

	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "authcube.db"))
	require.NoError(t, err)
	_, err = db.Exec(string(fixture))
	require.NoError(t, err)
	var v int
	require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&v))
	require.Equal(t, 1, v)
	require.NoError(t, db.Close())
	return dir
}

func schema1UserVersion(t *testing.T, dir string) int {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "authcube.db"))
	require.NoError(t, err)
	defer db.Close()
	var v int
	require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&v))
	var check string
	require.NoError(t, db.QueryRow("PRAGMA integrity_check").Scan(&check))
	assert.Equal(t, "ok", check)
	// The full-name index agrees with its content table.
	_, err = db.Exec(`INSERT INTO users_fts (users_fts) VALUES ('integrity-check')`)
	assert.NoError(t, err, "users_fts integrity-check")
	return v
}

func TestMigrationUpgradesSchema1WithData(t *testing.T) {
	t.Parallel()
	// The fixture's tokens are the ones whose hashes it stores.
	for tok, want := range map[string]string{schema1UserToken: "cbc32f41", schema1AppToken: "79102b65"} {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		require.NoError(t, err)
		h := sha256.Sum256(raw)
		require.Equal(t, want, hex.EncodeToString(h[:4]))
	}

	dir := schema1Database(t)
	cfg := authcube.Config{
		Dir: dir, Hashing: cheapHashing, Now: func() time.Time { return schema1Now },
		Logger: slog.New(slog.DiscardHandler), Mailer: &authtest.Mailbox{},
	}
	e, err := authcube.Open(ctx, cfg)
	require.NoError(t, err, "an engine opens a schema 1 database and upgrades it")

	// The existing user session still works, for its user, with its id.
	s, err := e.Session(ctx, schema1UserToken)
	require.NoError(t, err, "a session of schema 1 survives the upgrade")
	assert.Equal(t, int64(1), s.UserID)
	assert.Equal(t, schema1SessionID, s.ID)
	app, err := e.Session(ctx, schema1AppToken)
	require.NoError(t, err)
	assert.False(t, app.IsUser())

	// The users are there, with every field.
	marvin, err := e.UserByLogin(ctx, app.Token, "marvin18")
	require.NoError(t, err)
	assert.Equal(t, int64(1), marvin.ID)
	assert.Equal(t, "Marvin18", marvin.Login)
	assert.Equal(t, "Marvin@Example.org", marvin.Email)
	assert.Equal(t, "Marvin Simon", marvin.FullName)
	assert.Equal(t, "47802323143", marvin.Phone)
	assert.Equal(t, "https://marvin.example.org", marvin.Website)
	assert.Equal(t, "ext-1", marvin.ExternalID)
	assert.Equal(t, []string{"iphone", "apple"}, marvin.Tags)
	assert.Equal(t, `{"age":42}`, marvin.CustomData)
	assert.Equal(t, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), marvin.CreatedAt)
	bird, err := e.UserByEmail(ctx, app.Token, "Bird@example.org")
	require.NoError(t, err)
	assert.Equal(t, int64(3), bird.ID)
	assert.Empty(t, bird.Login)
	byPhone, err := e.UserByPhone(ctx, app.Token, "+47802323143")
	require.NoError(t, err)
	assert.Equal(t, int64(1), byPhone.ID)

	// Tag totals are exact: migration 2 computed the counters from the existing rows.
	for _, tc := range []struct {
		tags  []string
		total int
		ids   []int64
	}{
		{[]string{"apple"}, 2, []int64{1, 2}},
		{[]string{"iphone"}, 1, []int64{1}},
		{[]string{"android"}, 1, []int64{3}},
		{[]string{"apple", "android"}, 3, []int64{1, 2, 3}},
		{[]string{"nosuchtag"}, 0, nil},
	} {
		page, err := e.UsersByTags(ctx, app.Token, tc.tags, authcube.Page{})
		require.NoError(t, err, "%v", tc.tags)
		assert.Equal(t, tc.total, page.Total, "Total of %v", tc.tags)
		assert.Equal(t, tc.ids, ids(page.Users), "users of %v", tc.tags)
	}
	all, err := e.ListUsers(ctx, app.Token, authcube.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 3, all.Total, "the users counter was computed from the existing rows")

	// Full-name search finds them: migration 2 filled the FTS index from the existing rows.
	for name, want := range map[string][]int64{
		"marvin": {1}, "SIMON": {1}, "zoe": {2}, "karen": {2}, "big bird": {3}, "i": nil,
	} {
		page, err := e.UsersByFullName(ctx, app.Token, name, authcube.Page{})
		if name == "i" {
			require.Error(t, err, "too short a search")
			continue
		}
		require.NoError(t, err, name)
		assert.Equal(t, want, ids(page.Users), "full name %q", name)
	}

	// They sign in with their password, by login and by email.
	u, err := e.SignIn(ctx, app.Token, authcube.Credentials{Login: "MARVIN18", Password: schema1Password})
	require.NoError(t, err)
	assert.Equal(t, int64(1), u.ID)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Login: "zoe.k", Password: schema1Password})
	require.NoError(t, err)
	bs, err := e.CreateUserSession(ctx, authcube.Credentials{Email: "bird@example.org", Password: schema1Password})
	require.NoError(t, err)
	assert.Equal(t, int64(3), bs.UserID)
	_, err = e.CreateUserSession(ctx, authcube.Credentials{Login: "zoe.k", Password: "not the password"})
	requireCode(t, err, authcube.ErrInvalidCredentials, "")

	// The upgraded database takes new writes: tags keep their counters, new ids follow on.
	nu, err := e.SignUp(ctx, app.Token, authcube.NewUser{Login: "newcomer", Password: schema1Password, FullName: "New Comer", Tags: []string{"apple"}})
	require.NoError(t, err)
	assert.Equal(t, int64(4), nu.ID)
	page, err := e.UsersByTags(ctx, app.Token, []string{"apple"}, authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total)
	_, err = e.UpdateUser(ctx, schema1UserToken, authcube.UserUpdate{Tags: new([]string{"android"}), FullName: new("Marvin Samuel")})
	require.NoError(t, err)
	require.NoError(t, e.Close())

	assert.Equal(t, sqlite.SchemaVersion(), schema1UserVersion(t, dir), "user_version is the code's after the upgrade")

	// Reopening (no migration left to run) keeps it all.
	e, err = authcube.Open(ctx, cfg)
	require.NoError(t, err)
	defer e.Close()
	s, err = e.Session(ctx, schema1UserToken)
	require.NoError(t, err)
	assert.Equal(t, int64(1), s.UserID)
	for tag, total := range map[string]int{"apple": 2, "android": 2, "iphone": 0} {
		page, err := e.UsersByTags(ctx, app.Token, []string{tag}, authcube.Page{})
		require.NoError(t, err)
		assert.Equal(t, total, page.Total, "Total of %q after updates", tag)
	}
	page, err = e.UsersByFullName(ctx, app.Token, "samuel", authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, []int64{1}, ids(page.Users))
	page, err = e.UsersByFullName(ctx, app.Token, "simon", authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Users, "the old name left the index")
}

// Each migration is one transaction. A migration that fails (here migration 2, because a
// table it creates is in the way) leaves the database at the version before it, with nothing of
// it applied and the data untouched; once the obstacle is gone, the upgrade completes.
func TestMigrationFailureRollsBackAndRetries(t *testing.T) {
	t.Parallel()
	dir := schema1Database(t)
	path := filepath.Join(dir, "authcube.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE counters (x INTEGER)`)
	require.NoError(t, err)

	cfg := authcube.Config{
		Dir: dir, Hashing: cheapHashing, Now: func() time.Time { return schema1Now },
		Logger: slog.New(slog.DiscardHandler), Mailer: &authtest.Mailbox{},
	}
	_, err = authcube.Open(ctx, cfg)
	require.Error(t, err, "migration 2 cannot run")

	var v, fts, users int
	require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&v))
	assert.Equal(t, 1, v, "the failed migration did not move the version")
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name IN ('users_fts', 'tag_counts', 'users_fts_insert')`).Scan(&fts))
	assert.Zero(t, fts, "nothing of the failed migration was applied")
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM users`).Scan(&users))
	assert.Equal(t, 3, users)

	_, err = db.Exec(`DROP TABLE counters`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	e, err := authcube.Open(ctx, cfg)
	require.NoError(t, err, "the upgrade completes once the obstacle is gone")
	page, err := e.UsersByTags(ctx, schema1AppToken, []string{"apple"}, authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, 2, page.Total)
	require.NoError(t, e.Close())
	assert.Equal(t, sqlite.SchemaVersion(), schema1UserVersion(t, dir))
}

package usersql

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/authcube/authcube/store"
)

func TestSetsNamesEachChangedColumnOnce(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	s := func(v string) *string { return &v }
	tags := []string{"a", "b"}
	joined := func(ts []string) any { return strings.Join(ts, ",") }

	sets, args := Sets(store.UserChange{UpdatedAt: at}, joined)
	assert.Equal(t, "updated_at = ?", sets)
	assert.Equal(t, []any{int64(1_700_000_000_123)}, args)

	sets, args = Sets(store.UserChange{
		UpdatedAt: at,
		Login:     s("Ann"), LoginCanon: s("ann"),
		Email: s("Ann@Example.org"), EmailCanon: s("ann@example.org"),
		FullName: s("Ann A"), Phone: s("+441"), Website: s("https://a.example"),
		ExternalID: s("x1"), CustomData: s("{}"), AvatarUID: s("uid"),
		Tags: &tags, PasswordHash: s("$argon2id$h"),
	}, joined)
	assert.Equal(t, "updated_at = ?, login = ?, login_canon = ?, "+
		"email_verified_at = CASE WHEN email_canon IS NOT DISTINCT FROM ? THEN email_verified_at ELSE 0 END, "+
		"email = ?, email_canon = ?, full_name = ?, phone = ?, website = ?, external_id = ?, custom_data = ?, "+
		"avatar_uid = ?, tags = ?, password_hash = ?", sets)
	assert.Equal(t, []any{int64(1_700_000_000_123), "Ann", "ann", "ann@example.org", "Ann@Example.org", "ann@example.org",
		"Ann A", "+441", "https://a.example", "x1", "{}", "uid", "a,b", "$argon2id$h"}, args)
	assert.Equal(t, strings.Count(sets, "?"), len(args))
}

func TestSetsStoresEmptyKeysAsNull(t *testing.T) {
	empty := ""
	sets, args := Sets(store.UserChange{Login: &empty, LoginCanon: &empty, Email: &empty, EmailCanon: &empty, PasswordHash: &empty, FullName: &empty},
		func([]string) any { return nil })
	assert.Equal(t, "updated_at = ?, login = ?, login_canon = ?, "+
		"email_verified_at = CASE WHEN email_canon IS NOT DISTINCT FROM ? THEN email_verified_at ELSE 0 END, "+
		"email = ?, email_canon = ?, full_name = ?, password_hash = ?", sets)
	assert.Equal(t, []any{nil, nil, nil, nil, nil, "", nil}, args[1:], "empty login, email and hash are NULL; a name is never NULL")
}

func TestProbesAskForTheKeysTheUserHas(t *testing.T) {
	fields := func(ps []Probe) (fs []string) {
		for _, p := range ps {
			fs = append(fs, p.Field)
			assert.Equal(t, 1, strings.Count(p.SQL, "?"), p.SQL)
		}
		return fs
	}
	assert.Equal(t, []string{"id", "login", "email"}, fields(Probes(store.User{ID: 7, LoginCanon: "ann", EmailCanon: "ann@example.org"})))
	assert.Equal(t, []string{"email"}, fields(Probes(store.User{EmailCanon: "ann@example.org"})))
	assert.Empty(t, Probes(store.User{}))
	p := Probes(store.User{ID: 7, LoginCanon: "ann", EmailCanon: "e"})
	assert.Equal(t, []any{int64(7), "ann", "e"}, []any{p[0].Arg, p[1].Arg, p[2].Arg})
	assert.True(t, strings.HasSuffix(p[1].SQL, "login_canon = ?"))
	assert.True(t, strings.HasSuffix(p[2].SQL, "email_canon = ?"))
}

func TestJudgeTellsTheSameUserFromAnother(t *testing.T) {
	created := time.UnixMilli(1_600_000_000_000)
	u := store.User{LoginCanon: "ann", EmailCanon: "ann@example.org", PasswordHash: "h", CreatedAt: created}
	same := Found{ID: 3, LoginCanon: "ann", EmailCanon: "ann@example.org", PasswordHash: "h", CreatedAt: created.UnixMilli()}
	existing := store.ImportResult{Status: store.ImportExisting, ID: 3}
	conflict := store.ImportResult{Status: store.ImportConflict, Field: "login"}

	assert.Equal(t, existing, Judge(u, same, "login"))
	f := same
	f.PasswordHash = "other" // still the same creation time
	assert.Equal(t, existing, Judge(u, f, "login"))
	f = same
	f.CreatedAt++ // still the same hash
	assert.Equal(t, existing, Judge(u, f, "login"))
	f.PasswordHash = "other" // neither: another user who took the login
	assert.Equal(t, conflict, Judge(u, f, "login"))

	withID := u
	withID.ID, withID.PasswordHash, withID.CreatedAt = 3, "new", created.Add(time.Hour)
	assert.Equal(t, existing, Judge(withID, same, "id"), "the same id marks the same record")
	withID.ID = 4
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "id"}, Judge(withID, same, "id"), "another id never matches")
	withID.PasswordHash = "h"
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "login"}, Judge(withID, same, "login"),
		"another id never matches, even with the same hash")

	f = same
	f.EmailCanon = "ann@elsewhere.org"
	assert.Equal(t, conflict, Judge(u, f, "login"), "a different email is another user")
	f = same
	f.LoginCanon = ""
	assert.Equal(t, store.ImportResult{Status: store.ImportConflict, Field: "email"}, Judge(u, f, "email"), "a different login is another user")
}

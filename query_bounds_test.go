package authcube_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
)

// phones returns n distinct phones in normal form, the i-th being +1555000iiii.
func phones(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1555%07d", i)
	}
	return out
}

// TestPagingBoundsDoNotOverflow: pages, condition counts and phone lists beyond the bounds are
// ErrInvalid naming the field, never an internal error from an overflow or from SQLite, and
// never a page at a huge offset.
func TestPagingBoundsDoNotOverflow(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 3)
	own, err := te.CreateUserSession(ctx, authcube.Credentials{Login: users[0].Login, Password: testPassword})
	require.NoError(t, err)

	for name, p := range map[string]authcube.Page{
		"page MaxInt":              {Page: math.MaxInt},
		"page × per_page wraps":    {Page: 92233720368547759, PerPage: 100},
		"page × per_page near max": {Page: math.MaxInt / 10, PerPage: 10},
		"just too deep":            {Page: 101, PerPage: 100},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := te.UsersByTags(ctx, app.Token, []string{"even"}, p)
			requireCode(t, err, authcube.ErrInvalid, "page")
			_, err = te.UsersByIDs(ctx, app.Token, []int64{1}, p)
			requireCode(t, err, authcube.ErrInvalid, "page")
			_, err = te.UsersByFullName(ctx, app.Token, "marvin", p)
			requireCode(t, err, authcube.ErrInvalid, "page")
			_, err = te.Files(ctx, own.Token, p)
			requireCode(t, err, authcube.ErrInvalid, "page")
		})
	}
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Offset: math.MaxInt})
	requireCode(t, err, authcube.ErrInvalid, "offset")

	// 999 conditions: refused by count before SQLite sees an expression tree too deep.
	many := make([]authcube.Cond, 999)
	for i := range many {
		many[i] = authcube.Cond{Field: authcube.FieldID, Op: authcube.OpNe, Values: []any{int64(-i)}}
	}
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: many})
	requireCode(t, err, authcube.ErrInvalid, "where")
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: many[:authcube.MaxQueryConds+1]})
	requireCode(t, err, authcube.ErrInvalid, "where")
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: many[:authcube.MaxQueryConds]})
	require.NoError(t, err, "MaxQueryConds conditions are allowed")

	// Phone lists: each phone is matched in two spellings, so a list holds at most 500.
	for _, n := range []int{501, 1000} {
		for _, op := range []authcube.Op{authcube.OpIn, authcube.OpNin} {
			_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldPhone, Op: op, Values: phones(n)}}})
			requireCode(t, err, authcube.ErrInvalid, "phone")
		}
	}
	list := phones(500)
	list[250] = users[1].Phone
	page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldPhone, Op: authcube.OpIn, Values: list}}})
	require.NoError(t, err)
	assert.Equal(t, []int64{users[1].ID}, ids(page.Users))
}

// TestQueryCostIsBounded (S32): too many conditions and long search patterns are refused
// before the store runs anything.
func TestQueryCostIsBounded(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, _ := population(t, te, 3)

	crafted := func(n, length int) []authcube.Cond {
		conds := make([]authcube.Cond, n)
		for i := range conds {
			conds[i] = authcube.Cond{Field: authcube.FieldWebsite, Op: authcube.OpContains, Values: []any{strings.Repeat("a", length-1) + "b"}}
		}
		return conds
	}
	long := strings.Repeat("é", authcube.MaxSearchLen+1) // characters, not bytes, count
	for name, tc := range map[string]struct {
		q     authcube.UserQuery
		field string
	}{
		"60 filters of 1000 characters": {authcube.UserQuery{Where: crafted(60, 1000)}, "where"},
		"16 filters of 1000 characters": {authcube.UserQuery{Where: crafted(16, 1000)}, "website"},
		"16 filters, one too long":      {authcube.UserQuery{Where: append(crafted(15, 64), crafted(1, 65)...)}, "website"},
		"long prefix of a login":        {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldLogin, Op: authcube.OpStartsWith, Values: []any{long}}}}, "login"},
		"long full name search":         {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldFullName, Op: authcube.OpContains, Values: []any{long}}}}, "full_name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := te.ListUsers(ctx, app.Token, tc.q)
			requireCode(t, err, authcube.ErrInvalid, tc.field)
		})
	}
	_, err := te.UsersByFullName(ctx, app.Token, long, authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "full_name")

	page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: crafted(authcube.MaxQueryConds, authcube.MaxSearchLen)})
	require.NoError(t, err, "16 filters of 64 characters are allowed")
	assert.Empty(t, page.Users)
	page, err = te.UsersByFullName(ctx, app.Token, strings.Repeat("é", authcube.MaxSearchLen), authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Users)

	_, err = authcube.Open(ctx, authcube.Config{Dir: t.TempDir(), QueryTimeout: -time.Second})
	requireCode(t, err, authcube.ErrInvalid, "QueryTimeout")
}

// signalled is a store that closes started when QueryUsers is first called.
type signalled struct {
	store.Store
	once    sync.Once
	started chan struct{}
}

func (s *signalled) QueryUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	s.once.Do(func() { close(s.started) })
	return s.Store.QueryUsers(ctx, q)
}

// TestQueryTimeBudget (S32): a query that outlasts Config.QueryTimeout is interrupted and is
// ErrInvalid naming "where", and its read connection serves a look-up waiting for it. The pool
// has one read connection, so the look-up can finish only once the heavy query gives it up.
// The heavy query is 16 allowed LIKE filters that each scan 2000 characters of 500 crafted
// rows (about 10^9 steps; seconds, or minutes under the race detector); its budget is 20ms.
func TestQueryTimeBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "authcube.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	tx, err := db.Begin()
	require.NoError(t, err)
	website := strings.Repeat("a", 2000) + "b"
	for i := range 500 {
		_, err := tx.Exec(`INSERT INTO users (login, login_canon, website, tags, created_at, updated_at, last_request_at)
			VALUES (?, ?, ?, '', 1, 1, 1)`, fmt.Sprintf("crafted%d", i), fmt.Sprintf("crafted%d", i), website)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())

	st, err = sqlite.Open(ctx, path, sqlite.Options{ReadConns: 1})
	require.NoError(t, err)
	sig := &signalled{Store: st, started: make(chan struct{})}
	te := newTestEngine(t, func(c *authcube.Config) {
		c.Dir, c.Store, c.QueryTimeout = dir, sig, 20*time.Millisecond
	})
	app := te.appSession(t)

	// Fifteen filters that match at the end of each website, one that never does.
	var heavy []authcube.Cond
	for k := range 15 {
		heavy = append(heavy, authcube.Cond{Field: authcube.FieldWebsite, Op: authcube.OpContains, Values: []any{strings.Repeat("a", 63-k) + "b"}})
	}
	heavy = append(heavy, authcube.Cond{Field: authcube.FieldWebsite, Op: authcube.OpContains, Values: []any{strings.Repeat("a", 63) + "c"}})
	require.Len(t, heavy, authcube.MaxQueryConds)

	heavyErr := make(chan error, 1)
	go func() {
		_, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: heavy})
		heavyErr <- err
	}()
	<-sig.started
	u, err := te.User(ctx, app.Token, 1)
	require.NoError(t, err, "the look-up gets the read connection")
	assert.Equal(t, "crafted0", u.Login)
	ae := requireCode(t, <-heavyErr, authcube.ErrInvalid, "where")
	assert.Contains(t, ae.Message, "time budget of 20ms")
}

// S25: IN and NIN lists hold at most 1000 values, and UsersByIDs at most 1000 ids: one more is
// ErrInvalid naming the field; 1000 itself is answered. (Tag lists stop at 32 tags before.)
func TestListsAreCapped(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 3)
	values := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	for _, tc := range []struct {
		field authcube.Field
		ops   []authcube.Op
		value func(i int) any
		name  string
	}{
		{authcube.FieldID, []authcube.Op{authcube.OpIn, authcube.OpNin}, func(i int) any { return int64(i + 1) }, "id"},
		{authcube.FieldLogin, []authcube.Op{authcube.OpIn, authcube.OpNin}, func(i int) any { return fmt.Sprintf("login%d", i) }, "login"},
	} {
		for _, op := range tc.ops {
			_, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{{Field: tc.field, Op: op, Values: values(1001, tc.value)}}})
			requireCode(t, err, authcube.ErrInvalid, tc.name)
			_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{{Field: tc.field, Op: op, Values: values(1000, tc.value)}}})
			require.NoError(t, err, "%s %s with 1000 values", tc.field, op)
		}
	}
	many := make([]int64, 1001)
	for i := range many {
		many[i] = int64(i + 1)
	}
	_, err := te.UsersByIDs(ctx, app.Token, many, authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "ids")
	page, err := te.UsersByIDs(ctx, app.Token, many[:1000], authcube.Page{})
	require.NoError(t, err)
	assert.Len(t, page.Users, len(users))
}

package authcube_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

var names = []string{"Marvin Simon", "Zoë Saldaña", "ZOE BAKER", "Anna Karenina", "Marvin Samuel", "Ångström Lab"}

// population signs up n users one second apart: login userNN, email userNN@example.org, a full
// name from names, phone 4780232NNNN, external id ext-(NN mod 5), tags by NN mod 2 and mod 3.
func population(t *testing.T, te *testEngine, n int) (authcube.Session, []authcube.User) {
	t.Helper()
	app := te.appSession(t)
	users := make([]authcube.User, n)
	for i := range n {
		tags := []string{[]string{"even", "odd"}[i%2]}
		if i%3 == 0 {
			tags = append(tags, "three")
		}
		u, err := te.SignUp(ctx, app.Token, authcube.NewUser{
			Login: fmt.Sprintf("user%02d", i), Email: fmt.Sprintf("User%02d@Example.org", i), Password: testPassword,
			FullName: names[i%len(names)], Phone: fmt.Sprintf("+47 802-32%04d", i), Website: fmt.Sprintf("https://site%d.example", i%4),
			ExternalID: fmt.Sprintf("ext-%d", i%5), Tags: tags,
		})
		require.NoError(t, err)
		users[i] = u
		te.clock.Advance(time.Second)
	}
	return app, users
}

func ids(us []authcube.User) []int64 {
	var out []int64
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func TestUniqueLookUps(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 10)

	got, err := te.User(ctx, app.Token, users[3].ID)
	require.NoError(t, err)
	assert.Equal(t, users[3], got)
	_, err = te.User(ctx, app.Token, 999)
	requireCode(t, err, authcube.ErrNotFound, "")

	got, err = te.UserByLogin(ctx, app.Token, "USER04")
	require.NoError(t, err)
	assert.Equal(t, users[4].ID, got.ID)
	got, err = te.UserByEmail(ctx, app.Token, "user05@EXAMPLE.ORG")
	require.NoError(t, err)
	assert.Equal(t, users[5].ID, got.ID)
	got, err = te.UserByPhone(ctx, app.Token, "+47 (802) 32-0006")
	require.NoError(t, err)
	assert.Equal(t, users[6].ID, got.ID, "phone compared in normal form")
	got, err = te.UserByPhone(ctx, app.Token, "47802320007")
	require.NoError(t, err)
	assert.Equal(t, users[7].ID, got.ID, "with or without the leading +")
	got, err = te.UserByExternalID(ctx, app.Token, "ext-2")
	require.NoError(t, err)
	assert.Equal(t, users[2].ID, got.ID, "the oldest user with that external id")

	_, err = te.UserByLogin(ctx, app.Token, "nobody")
	requireCode(t, err, authcube.ErrNotFound, "")
	_, err = te.UserByEmail(ctx, app.Token, "nobody@example.org")
	requireCode(t, err, authcube.ErrNotFound, "")
	_, err = te.UserByPhone(ctx, app.Token, "123456")
	requireCode(t, err, authcube.ErrNotFound, "")
	_, err = te.UserByExternalID(ctx, app.Token, "nope")
	requireCode(t, err, authcube.ErrNotFound, "")

	_, err = te.UserByLogin(ctx, app.Token, "x")
	requireCode(t, err, authcube.ErrInvalid, "login")
	_, err = te.UserByEmail(ctx, app.Token, "not an email")
	requireCode(t, err, authcube.ErrInvalid, "email")
	_, err = te.UserByPhone(ctx, app.Token, "call me")
	requireCode(t, err, authcube.ErrInvalid, "phone")
	_, err = te.UserByExternalID(ctx, app.Token, "")
	requireCode(t, err, authcube.ErrInvalid, "external_id")
	_, err = te.User(ctx, "not a token", users[0].ID)
	requireCode(t, err, authcube.ErrUnauthorized, "")
}

func TestUsersByIDs(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 12)

	page, err := te.UsersByIDs(ctx, app.Token, []int64{users[5].ID, 9999, users[1].ID, users[5].ID, users[9].ID}, authcube.Page{PerPage: 2})
	require.NoError(t, err)
	assert.Equal(t, []int64{users[1].ID, users[5].ID}, ids(page.Users), "ordered by id, unknown ids left out")
	assert.Equal(t, 3, page.Total)
	require.NotEmpty(t, page.Next)
	page, err = te.UsersByIDs(ctx, app.Token, []int64{users[5].ID, 9999, users[1].ID, users[9].ID}, authcube.Page{PerPage: 2, After: page.Next})
	require.NoError(t, err)
	assert.Equal(t, []int64{users[9].ID}, ids(page.Users))
	assert.Empty(t, page.Next, "the last page has no cursor")

	many := make([]int64, 1001)
	_, err = te.UsersByIDs(ctx, app.Token, many, authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "ids")
	_, err = te.UsersByIDs(ctx, app.Token, nil, authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "ids")
}

func TestUsersByFullName(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 12)

	page, err := te.UsersByFullName(ctx, app.Token, "zoe", authcube.Page{})
	require.NoError(t, err)
	var want []int64
	for _, u := range users {
		if strings.HasPrefix(u.FullName, "Zo") || strings.HasPrefix(u.FullName, "ZO") {
			want = append(want, u.ID)
		}
	}
	assert.Equal(t, want, ids(page.Users), "case- and accent-insensitive")
	assert.Equal(t, len(want), page.Total)

	page, err = te.UsersByFullName(ctx, app.Token, "RVIN S", authcube.Page{})
	require.NoError(t, err)
	assert.Len(t, page.Users, 4, "a substring in the middle, across the space")

	page, err = te.UsersByFullName(ctx, app.Token, `"; DROP TABLE users; --`, authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Users)

	_, err = te.UsersByFullName(ctx, app.Token, "zo", authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "full_name")
}

func TestUsersByTags(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 12)
	var even, evenOrThree []int64
	for i, u := range users {
		if i%2 == 0 {
			even = append(even, u.ID)
		}
		if i%2 == 0 || i%3 == 0 {
			evenOrThree = append(evenOrThree, u.ID)
		}
	}
	page, err := te.UsersByTags(ctx, app.Token, []string{"EVEN"}, authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, even, ids(page.Users))
	assert.Equal(t, len(even), page.Total)

	page, err = te.UsersByTags(ctx, app.Token, []string{"three", "even"}, authcube.Page{PerPage: 5})
	require.NoError(t, err)
	assert.Equal(t, evenOrThree[:5], ids(page.Users), "any of the tags, each user once")
	assert.Equal(t, len(evenOrThree), page.Total)
	page, err = te.UsersByTags(ctx, app.Token, []string{"three", "even"}, authcube.Page{PerPage: 5, Page: 2})
	require.NoError(t, err)
	assert.Equal(t, evenOrThree[5:], ids(page.Users))
	assert.Equal(t, 2, page.Page)

	page, err = te.UsersByTags(ctx, app.Token, []string{"none"}, authcube.Page{})
	require.NoError(t, err)
	assert.Empty(t, page.Users)
	assert.Zero(t, page.Total)

	_, err = te.UsersByTags(ctx, app.Token, []string{"a,b"}, authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "user_tags")
	_, err = te.UsersByTags(ctx, app.Token, nil, authcube.Page{})
	requireCode(t, err, authcube.ErrInvalid, "user_tags")
}

func TestPageRules(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, _ := population(t, te, 3)

	page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 1, page.Page)
	assert.Equal(t, 10, page.PerPage, "0 means 10")
	page, err = te.UsersByTags(ctx, app.Token, []string{"even"}, authcube.Page{PerPage: 500})
	require.NoError(t, err)
	assert.Equal(t, 100, page.PerPage, "above 100 means 100")

	for name, tc := range map[string]struct {
		p     authcube.Page
		field string
	}{
		"too deep":        {authcube.Page{Page: 101, PerPage: 100}, "page"},
		"negative page":   {authcube.Page{Page: -1}, "page"},
		"negative size":   {authcube.Page{PerPage: -1}, "per_page"},
		"page and cursor": {authcube.Page{Page: 2, After: "x"}, "page"},
		"bad cursor":      {authcube.Page{After: "!!!"}, "after"},
		"forged cursor":   {authcube.Page{After: "eyJzIjoiaWQiLCJpIjotMX0"}, "after"},
	} {
		_, err := te.UsersByTags(ctx, app.Token, []string{"even"}, tc.p)
		requireCode(t, err, authcube.ErrInvalid, tc.field)
		_ = name
	}
	_, err = te.UsersByTags(ctx, app.Token, []string{"even"}, authcube.Page{Page: 100, PerPage: 100})
	require.NoError(t, err, "Page × PerPage = 10,000 is allowed")

	// A cursor of one sort order does not page another.
	page, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Limit: 1})
	require.NoError(t, err)
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Limit: 1, Sort: authcube.FieldLogin, After: page.Next})
	requireCode(t, err, authcube.ErrInvalid, "after")
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Limit: 1, Offset: 1, After: page.Next})
	requireCode(t, err, authcube.ErrInvalid, "offset")
	_, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Offset: 10_001})
	requireCode(t, err, authcube.ErrInvalid, "offset")
}

// The cursor walks every user of a tag exactly once while users are being added.
func TestCursorWalkWhileUsersAreAdded(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 30)
	var want []int64
	for i, u := range users {
		if i%2 == 0 {
			want = append(want, u.ID)
		}
	}
	var seen []int64
	p := authcube.Page{PerPage: 4}
	for n := 0; ; n++ {
		page, err := te.UsersByTags(ctx, app.Token, []string{"even"}, p)
		require.NoError(t, err)
		seen = append(seen, ids(page.Users)...)
		// Meanwhile, new users arrive with the tag, and others without it.
		_, err = te.SignUp(ctx, app.Token, authcube.NewUser{Login: fmt.Sprintf("late%02d", n), Password: testPassword, Tags: []string{"even"}})
		require.NoError(t, err)
		if page.Next == "" {
			break
		}
		p.After = page.Next
	}
	assert.Subset(t, seen, want, "every user present at the start is seen")
	assert.True(t, slices.IsSorted(seen))
	assert.Len(t, slices.Compact(slices.Clone(seen)), len(seen), "no user twice")
}

func TestListUsersOperators(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 12)
	at := func(i int) time.Time { return users[i].CreatedAt }
	match := func(pred func(i int, u authcube.User) bool) []int64 {
		var out []int64
		for i, u := range users {
			if pred(i, u) {
				out = append(out, u.ID)
			}
		}
		return out
	}
	cases := map[string]struct {
		cond authcube.Cond
		want []int64
	}{
		"id eq":           {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpEq, Values: []any{users[3].ID}}, []int64{users[3].ID}},
		"id ne":           {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpNe, Values: []any{int(users[3].ID)}}, match(func(i int, _ authcube.User) bool { return i != 3 })},
		"id lt":           {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpLt, Values: []any{users[3].ID}}, ids(users[:3])},
		"id lte":          {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpLte, Values: []any{users[3].ID}}, ids(users[:4])},
		"id gt":           {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpGt, Values: []any{users[9].ID}}, ids(users[10:])},
		"id gte":          {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpGte, Values: []any{users[9].ID}}, ids(users[9:])},
		"id in":           {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpIn, Values: []any{users[1].ID, users[2].ID}}, ids(users[1:3])},
		"id nin":          {authcube.Cond{Field: authcube.FieldID, Op: authcube.OpNin, Values: []any{users[0].ID}}, ids(users[1:])},
		"login eq folded": {authcube.Cond{Field: authcube.FieldLogin, Op: authcube.OpEq, Values: []any{"USER07"}}, []int64{users[7].ID}},
		"login start":     {authcube.Cond{Field: authcube.FieldLogin, Op: authcube.OpStartsWith, Values: []any{"User1"}}, ids(users[10:])},
		"login ctn":       {authcube.Cond{Field: authcube.FieldLogin, Op: authcube.OpContains, Values: []any{"r1"}}, ids(users[10:])},
		"login ctn wild":  {authcube.Cond{Field: authcube.FieldLogin, Op: authcube.OpContains, Values: []any{"%"}}, nil},
		"email in":        {authcube.Cond{Field: authcube.FieldEmail, Op: authcube.OpIn, Values: []any{"USER01@example.org", "user02@EXAMPLE.org"}}, ids(users[1:3])},
		"full name ctn":   {authcube.Cond{Field: authcube.FieldFullName, Op: authcube.OpContains, Values: []any{"karen"}}, match(func(_ int, u authcube.User) bool { return u.FullName == "Anna Karenina" })},
		"full name start": {authcube.Cond{Field: authcube.FieldFullName, Op: authcube.OpStartsWith, Values: []any{"Marvin S"}}, match(func(_ int, u authcube.User) bool { return strings.HasPrefix(u.FullName, "Marvin") })},
		"full name eq":    {authcube.Cond{Field: authcube.FieldFullName, Op: authcube.OpEq, Values: []any{"ZOE BAKER"}}, match(func(_ int, u authcube.User) bool { return u.FullName == "ZOE BAKER" })},
		"phone eq":        {authcube.Cond{Field: authcube.FieldPhone, Op: authcube.OpEq, Values: []any{"+47 802 32 0005"}}, []int64{users[5].ID}},
		"phone eq no +":   {authcube.Cond{Field: authcube.FieldPhone, Op: authcube.OpEq, Values: []any{"4780232 0005"}}, []int64{users[5].ID}},
		"phone ne no +":   {authcube.Cond{Field: authcube.FieldPhone, Op: authcube.OpNe, Values: []any{"4780232 0005"}}, match(func(i int, _ authcube.User) bool { return i != 5 })},
		"website ctn":     {authcube.Cond{Field: authcube.FieldWebsite, Op: authcube.OpContains, Values: []any{"site3"}}, match(func(i int, _ authcube.User) bool { return i%4 == 3 })},
		"external id nin": {authcube.Cond{Field: authcube.FieldExternalID, Op: authcube.OpNin, Values: []any{"ext-0", "ext-1"}}, match(func(i int, _ authcube.User) bool { return i%5 > 1 })},
		"tags eq":         {authcube.Cond{Field: authcube.FieldTags, Op: authcube.OpEq, Values: []any{"three"}}, match(func(i int, _ authcube.User) bool { return i%3 == 0 })},
		"tags ne":         {authcube.Cond{Field: authcube.FieldTags, Op: authcube.OpNe, Values: []any{"three"}}, match(func(i int, _ authcube.User) bool { return i%3 != 0 })},
		"tags in":         {authcube.Cond{Field: authcube.FieldTags, Op: authcube.OpIn, Values: []any{"odd", "three"}}, match(func(i int, _ authcube.User) bool { return i%2 == 1 || i%3 == 0 })},
		"tags nin":        {authcube.Cond{Field: authcube.FieldTags, Op: authcube.OpNin, Values: []any{"odd", "three"}}, match(func(i int, _ authcube.User) bool { return i%2 == 0 && i%3 != 0 })},
		"tags all":        {authcube.Cond{Field: authcube.FieldTags, Op: authcube.OpAll, Values: []any{"odd", "three"}}, match(func(i int, _ authcube.User) bool { return i%2 == 1 && i%3 == 0 })},
		"created lt":      {authcube.Cond{Field: authcube.FieldCreatedAt, Op: authcube.OpLt, Values: []any{at(2)}}, ids(users[:2])},
		"created gte":     {authcube.Cond{Field: authcube.FieldCreatedAt, Op: authcube.OpGte, Values: []any{at(10)}}, ids(users[10:])},
		"updated eq":      {authcube.Cond{Field: authcube.FieldUpdatedAt, Op: authcube.OpEq, Values: []any{at(4)}}, []int64{users[4].ID}},
		"last request in": {authcube.Cond{Field: authcube.FieldLastRequestAt, Op: authcube.OpIn, Values: []any{at(4), at(6)}}, []int64{users[4].ID, users[6].ID}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{tc.cond}, Limit: 100})
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(page.Users))
			if tc.want == nil {
				assert.Empty(t, page.Users)
			}
			assert.Equal(t, len(tc.want), page.Total)
		})
	}

	// Conditions combine with AND.
	page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Limit: 100, Where: []authcube.Cond{
		{Field: authcube.FieldTags, Op: authcube.OpIn, Values: []any{"even"}},
		{Field: authcube.FieldFullName, Op: authcube.OpContains, Values: []any{"marvin"}},
	}})
	require.NoError(t, err)
	assert.Equal(t, match(func(i int, u authcube.User) bool { return i%2 == 0 && strings.HasPrefix(u.FullName, "Marvin") }), ids(page.Users))
}

func TestListUsersSortsAndPagesOnEveryField(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app, users := population(t, te, 13)
	key := map[authcube.Field]func(u authcube.User) string{
		authcube.FieldID:            func(u authcube.User) string { return fmt.Sprintf("%08d", u.ID) },
		authcube.FieldLogin:         func(u authcube.User) string { return strings.ToLower(u.Login) },
		authcube.FieldEmail:         func(u authcube.User) string { return strings.ToLower(u.Email) },
		authcube.FieldFullName:      func(u authcube.User) string { return u.FullName },
		authcube.FieldPhone:         func(u authcube.User) string { return u.Phone },
		authcube.FieldWebsite:       func(u authcube.User) string { return u.Website },
		authcube.FieldExternalID:    func(u authcube.User) string { return u.ExternalID },
		authcube.FieldTags:          func(u authcube.User) string { return strings.Join(u.Tags, ",") },
		authcube.FieldCreatedAt:     func(u authcube.User) string { return u.CreatedAt.Format(time.RFC3339Nano) },
		authcube.FieldUpdatedAt:     func(u authcube.User) string { return u.UpdatedAt.Format(time.RFC3339Nano) },
		authcube.FieldLastRequestAt: func(u authcube.User) string { return u.LastRequestAt.Format(time.RFC3339Nano) },
	}
	for field, k := range key {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s desc=%v", field, desc), func(t *testing.T) {
				want := slices.Clone(users)
				sort.SliceStable(want, func(a, b int) bool {
					ka, kb := k(want[a]), k(want[b])
					if ka == kb {
						return want[a].ID < want[b].ID != desc
					}
					return ka < kb != desc
				})
				// By cursor, 4 at a time.
				var got []int64
				q := authcube.UserQuery{Sort: field, Desc: desc, Limit: 4}
				for {
					page, err := te.ListUsers(ctx, app.Token, q)
					require.NoError(t, err)
					assert.Equal(t, 13, page.Total)
					got = append(got, ids(page.Users)...)
					if page.Next == "" {
						break
					}
					q.After = page.Next
				}
				assert.Equal(t, ids(want), got)
				// By offset.
				page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{Sort: field, Desc: desc, Limit: 5, Offset: 5})
				require.NoError(t, err)
				assert.Equal(t, ids(want[5:10]), ids(page.Users))
				assert.Equal(t, 2, page.Page)
				assert.Equal(t, 5, page.PerPage)
			})
		}
	}
}

func TestListUsersRefusesBadQueries(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	app := te.appSession(t)
	cases := map[string]struct {
		q     authcube.UserQuery
		field string
	}{
		"unknown field":      {authcube.UserQuery{Where: []authcube.Cond{{Field: "password_hash", Op: authcube.OpEq, Values: []any{"x"}}}}, "where"},
		"unknown op":         {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldLogin, Op: "like", Values: []any{"x"}}}}, "login"},
		"sql in op":          {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldLogin, Op: "= 1 OR 1=1 --", Values: []any{"x"}}}}, "login"},
		"unknown sort":       {authcube.UserQuery{Sort: "id; DROP TABLE users"}, "sort"},
		"wrong value type":   {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldID, Op: authcube.OpEq, Values: []any{"1"}}}}, "id"},
		"time as string":     {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldCreatedAt, Op: authcube.OpGt, Values: []any{"2026-01-01"}}}}, "created_at"},
		"two values for eq":  {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldID, Op: authcube.OpEq, Values: []any{int64(1), int64(2)}}}}, "id"},
		"no values for in":   {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldID, Op: authcube.OpIn}}}, "id"},
		"all on login":       {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldLogin, Op: authcube.OpAll, Values: []any{"x"}}}}, "login"},
		"ctn on email":       {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldEmail, Op: authcube.OpContains, Values: []any{"x"}}}}, "email"},
		"ctn on phone":       {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldPhone, Op: authcube.OpContains, Values: []any{"1"}}}}, "phone"},
		"short name search":  {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldFullName, Op: authcube.OpContains, Values: []any{"ab"}}}}, "full_name"},
		"lt on tags":         {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldTags, Op: authcube.OpLt, Values: []any{"a"}}}}, "user_tags"},
		"bad tag":            {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldTags, Op: authcube.OpIn, Values: []any{"a,b"}}}}, "user_tags"},
		"bad phone":          {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldPhone, Op: authcube.OpEq, Values: []any{"abc"}}}}, "phone"},
		"negative limit":     {authcube.UserQuery{Limit: -1}, "limit"},
		"nul in search":      {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldFullName, Op: authcube.OpContains, Values: []any{"abc\x00"}}}}, "full_name"},
		"invalid utf-8":      {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldWebsite, Op: authcube.OpEq, Values: []any{"\xff"}}}}, "website"},
		"too many in values": {authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldID, Op: authcube.OpIn, Values: make([]any, 1001)}}}, "id"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := te.ListUsers(ctx, app.Token, tc.q)
			requireCode(t, err, authcube.ErrInvalid, tc.field)
		})
	}
}

// TestTotalAtTheCap: exact totals from counters beyond 10,000; counted totals stop at 10,000.
func TestTotalAtTheCap(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t)
	te.signUp(t, "first")
	require.NoError(t, te.Close())

	// 10,050 users written straight into the database, in one transaction, as a fixture.
	db, err := sql.Open("sqlite", filepath.Join(te.cfg.Dir, "authcube.db"))
	require.NoError(t, err)
	tx, err := db.Begin()
	require.NoError(t, err)
	for i := range 10_050 {
		var id int64
		require.NoError(t, tx.QueryRow(`INSERT INTO users (login, login_canon, tags, created_at, updated_at, last_request_at)
			VALUES (?, ?, 'bulk', 1, 1, 1) RETURNING id`, fmt.Sprintf("bulk%d", i), fmt.Sprintf("bulk%d", i)).Scan(&id))
		_, err = tx.Exec(`INSERT INTO user_tags (tag, user_id) VALUES ('bulk', ?)`, id)
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.NoError(t, db.Close())
	te.open(t)
	app := te.appSession(t)

	page, err := te.ListUsers(ctx, app.Token, authcube.UserQuery{})
	require.NoError(t, err)
	assert.Equal(t, 10_051, page.Total, "all users: exact, from the counter")
	page, err = te.UsersByTags(ctx, app.Token, []string{"bulk"}, authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, 10_050, page.Total, "one tag: exact, from the counter")
	page, err = te.UsersByTags(ctx, app.Token, []string{"bulk", "other"}, authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, 10_000, page.Total, "two tags: counted up to the cap")
	page, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Where: []authcube.Cond{{Field: authcube.FieldLogin, Op: authcube.OpStartsWith, Values: []any{"bulk"}}}})
	require.NoError(t, err)
	assert.Equal(t, 10_000, page.Total, "filtered: counted up to the cap")

	// A cursor reaches past the 10,000 that Page and Offset may.
	page, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Sort: authcube.FieldID, Desc: true, Limit: 1})
	require.NoError(t, err)
	last := page.Users[0].ID
	page, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Limit: 100, Offset: 10_000})
	require.NoError(t, err)
	for page.Next != "" {
		page, err = te.ListUsers(ctx, app.Token, authcube.UserQuery{Limit: 100, After: page.Next})
		require.NoError(t, err)
	}
	assert.Equal(t, last, page.Users[len(page.Users)-1].ID)
}

// Readers run while users are written: no error reaches them.
func TestReadersDuringWrites(t *testing.T) {
	t.Parallel()
	te := newTestEngine(t, func(c *authcube.Config) { c.Rand = nil })
	app := te.appSession(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				_, err := te.SignUp(ctx, app.Token, authcube.NewUser{Login: fmt.Sprintf("w%d-%d", w, i), Password: testPassword, Tags: []string{"t"}})
				assert.NoError(t, err)
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 20 {
				_, err := te.UsersByTags(ctx, app.Token, []string{"t"}, authcube.Page{})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	page, err := te.UsersByTags(ctx, app.Token, []string{"t"}, authcube.Page{})
	require.NoError(t, err)
	assert.Equal(t, 40, page.Total)
}

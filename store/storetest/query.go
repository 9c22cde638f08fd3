package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// This file holds the subtests of store.Queries: UserByPhone and UserByExternalID, and QueryUsers
// with every field and operator against an in-memory computation over a fixed data set,
// sorting, paging by offset and by key, and totals.

// runQuery registers the subtests of store.Queries.
func runQuery(t *testing.T, sub func(t *testing.T, name string, f func(t *testing.T, s store.Store))) {
	t.Run("UserByPhone", func(t *testing.T) {
		sub(t, "Oldest", func(t *testing.T, s store.Store) {
			testOldestBy(t, s, true, func(u *store.User, v string) { u.Phone = v }, s.UserByPhone)
		})
	})
	t.Run("UserByExternalID", func(t *testing.T) {
		sub(t, "Oldest", func(t *testing.T, s store.Store) {
			testOldestBy(t, s, false, func(u *store.User, v string) { u.ExternalID = v }, s.UserByExternalID)
		})
	})
	t.Run("QueryUsers", func(t *testing.T) {
		sub(t, "RoundTrip", testQueryRoundTrip)
		sub(t, "Filters", testQueryFilters)
		sub(t, "Combined", testQueryCombined)
		sub(t, "Sort", testQuerySort)
		sub(t, "LimitOffset", testQueryLimitOffset)
		sub(t, "After", testQueryAfter)
		sub(t, "Total", testQueryTotal)
		sub(t, "FullNameSearch", testQueryFullNameSearch)
		sub(t, "LikeWildcardsAreLiteral", testQueryLikeWildcards)
		sub(t, "Refused", testQueryRefused)
	})
}

// querySpec is one user of the query data set. Times are minutes after t0; "" means none.
type querySpec struct {
	login, email, fullName, phone, website, externalID string
	tags                                               []string
	created, updated, lastRequest                      time.Duration
}

// queryData is the fixed data set: logins and emails in canonical form, some users without a
// login or an email, shared phones and external ids, names with accents, quotes and LIKE
// wildcards, and ties on every sortable field so that the id tie-break shows.
var queryData = []querySpec{
	{"alice", "alice@example.com", "Alice Smith", "14155550100", "https://alice.example.com", "ext-1", []string{"red", "blue"}, 1, 5, 9},
	{"bob", "bob@example.org", "Bob Stone", "+14155550100", "http://bob.example.org/blog", "ext-2", []string{"blue"}, 2, 5, 3},
	{"zoe", "", "Zoë Ångström", "", "", "", []string{"green"}, 3, 2, 2},
	{"", "carol@example.com", "Carol Ann", "14155550101", "https://carol.example.com/%", "ext-1", nil, 4, 7, 1},
	{"a_b", "ab@example.com", "100% Cotton", "14155550102", "https://under_score.example", "42", []string{"red"}, 4, 1, 8},
	{"axb", "axb@example.com", "1000 Cotton", "", "https://underxscore.example", "42", []string{"red", "green", "blue"}, 6, 1, 8},
	{"dave", "dave@example.net", `Back\Slash Jr`, "14155550100", `https://x.example/a\b`, "", []string{"blue", "red"}, 7, 9, 12},
	{"erin", "", "Backslash Jr", "", "https://x.example/ab", "ext-3", nil, 8, 3, 4},
	{"", "frank@example.com", "ZOE BALL", "14155550103", "", "ext-2", []string{"green"}, 9, 8, 6},
	{"grace", "grace@example.com", "zoe_ball", "", "https://grace.example.com", "", []string{"red"}, 10, 2, 5},
	{"heidi", "heidi@example.com", "", "", "", "ext-4", nil, 11, 10, 10},
	{"ivan", "ivan@example.org", "Ivan Ünal", "14155550104", "http://ivan.example.org", "ext-5", []string{"tag-a"}, 12, 4, 7},
	{"judy", "", "Judy O'Brien", "14155550104", "", "ext-5", []string{"tag_a"}, 13, 6, 7},
	{"kim", "kim@example.com", `Kim "The" Lee`, "", "https://kim.example.com/?q=50%25", "", []string{"red", "tag-a"}, 14, 11, 11},
	{"leo", "leo@example.com", "Léo Müller", "+447911123456", "https://leo.example.com", "ext-1", []string{"blue"}, 15, 12, 13},
	{"", "mallory@example.com", "Mallory", "", "", "", []string{"green", "red"}, 16, 13, 14},
	{"nina", "nina@example.com", "Nina Simone", "447911123456", "https://nina.example.com", "ext-6", []string{"big", "blue"}, 16, 14, 15},
	{"oscar", "", "Oscar % Wilde", "", "https://oscar.example.com/_", "ext-6", nil, 18, 15, 16},
	{"peggy", "peggy@example.com", "Peggy Sue", "14155550105", "http://peggy.example.com", "", []string{"red"}, 19, 16, 17},
	{"zed", "zed@example.com", "Zed", "", "", "", []string{"zeta"}, 20, 17, 18},
}

// seedQueryData creates the data set in order and returns the users with their ids.
func seedQueryData(t *testing.T, s store.Store) []store.User {
	t.Helper()
	users := make([]store.User, 0, len(queryData))
	for i, d := range queryData {
		u := store.User{
			Login: strings.ToUpper(d.login[:min(1, len(d.login))]) + d.login[min(1, len(d.login)):], LoginCanon: d.login,
			Email: d.email, EmailCanon: d.email,
			PasswordHash: fmt.Sprintf("$argon2id$%d", i),
			FullName:     d.fullName, Phone: d.phone, Website: d.website, ExternalID: d.externalID,
			Tags:          d.tags,
			CustomData:    fmt.Sprintf(`{"i":%d}`, i),
			CreatedAt:     at(d.created*time.Minute + 1*time.Millisecond),
			UpdatedAt:     at(d.updated*time.Minute + 2*time.Millisecond),
			LastRequestAt: at(d.lastRequest*time.Minute + 3*time.Millisecond),
		}
		users = append(users, createUser(t, s, u))
	}
	return users
}

// The kinds of fields, as the model sees them.
const (
	kindInt  = "int"
	kindTime = "time"
	kindText = "text"
	kindTags = "tags"
)

var queryFields = []struct {
	name, kind string
	like       bool // ctn and start_with apply
}{
	{store.FieldID, kindInt, false},
	{store.FieldLogin, kindText, true},
	{store.FieldEmail, kindText, false},
	{store.FieldFullName, kindText, true},
	{store.FieldPhone, kindText, false},
	{store.FieldWebsite, kindText, true},
	{store.FieldExternalID, kindText, false},
	{store.FieldTags, kindTags, false},
	{store.FieldCreatedAt, kindTime, false},
	{store.FieldUpdatedAt, kindTime, false},
	{store.FieldLastRequestAt, kindTime, false},
}

func fieldKind(field string) string {
	for _, f := range queryFields {
		if f.name == field {
			return f.kind
		}
	}
	panic("storetest: unknown field " + field)
}

// textOf returns a text field of u: canonical login and email, "" when none.
func textOf(u store.User, field string) string {
	switch field {
	case store.FieldLogin:
		return u.LoginCanon
	case store.FieldEmail:
		return u.EmailCanon
	case store.FieldFullName:
		return u.FullName
	case store.FieldPhone:
		return u.Phone
	case store.FieldWebsite:
		return u.Website
	case store.FieldExternalID:
		return u.ExternalID
	case store.FieldTags:
		return strings.Join(u.Tags, ",")
	}
	panic("storetest: not a text field: " + field)
}

// numOf returns the id or a time field of u in Unix milliseconds.
func numOf(u store.User, field string) int64 {
	switch field {
	case store.FieldID:
		return u.ID
	case store.FieldCreatedAt:
		return u.CreatedAt.UnixMilli()
	case store.FieldUpdatedAt:
		return u.UpdatedAt.UnixMilli()
	case store.FieldLastRequestAt:
		return u.LastRequestAt.UnixMilli()
	}
	panic("storetest: not a numeric field: " + field)
}

// keyOf returns u's position in the order of field, as a store.Key wants it.
func keyOf(u store.User, field string) store.Key {
	switch fieldKind(field) {
	case kindInt, kindTime:
		return store.Key{Value: numOf(u, field), ID: u.ID}
	}
	return store.Key{Value: textOf(u, field), ID: u.ID}
}

// compareKeys orders two keys: by value, then by id.
func compareKeys(a, b store.Key) int {
	var c int
	switch av := a.Value.(type) {
	case int64:
		c = cmp.Compare(av, b.Value.(int64))
	case string:
		c = strings.Compare(av, b.Value.(string))
	}
	if c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// ftsFold is the model of the full-name search's folding: lower case, accents removed (for the
// letters of the data set).
func ftsFold(s string) string {
	return strings.NewReplacer("ë", "e", "å", "a", "ö", "o", "ü", "u", "é", "e").Replace(strings.ToLower(s))
}

// asciiLower lowers ASCII letters only.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// matches is the model of one condition. fold is applied to both sides of ctn and start_with
// outside the full-name search (see likeFolds).
func matches(u store.User, c store.Cond, fold func(string) string) bool {
	kind := fieldKind(c.Field)
	switch kind {
	case kindTags:
		has := func(v any) bool { return slices.Contains(u.Tags, v.(string)) }
		switch c.Op {
		case store.OpEq, store.OpIn:
			return slices.ContainsFunc(c.Values, has)
		case store.OpNe, store.OpNin:
			return !slices.ContainsFunc(c.Values, has)
		case store.OpAll:
			for _, v := range c.Values {
				if !has(v) {
					return false
				}
			}
			return true
		}
		panic("storetest: no model for tags " + c.Op)
	case kindInt, kindTime:
		x := numOf(u, c.Field)
		num := func(v any) int64 {
			if t, ok := v.(time.Time); ok {
				return t.UnixMilli()
			}
			return v.(int64)
		}
		return compareOp(c, func(v any) int { return cmp.Compare(x, num(v)) })
	}
	x := textOf(u, c.Field)
	switch c.Op {
	case store.OpContains:
		v := c.Values[0].(string)
		if c.Field == store.FieldFullName {
			return strings.Contains(ftsFold(x), ftsFold(v))
		}
		return strings.Contains(fold(x), fold(v))
	case store.OpStartsWith:
		return strings.HasPrefix(fold(x), fold(c.Values[0].(string)))
	}
	return compareOp(c, func(v any) int { return strings.Compare(x, v.(string)) })
}

// compareOp applies a comparison, in or nin, given how the user's value compares to a value.
func compareOp(c store.Cond, compare func(v any) int) bool {
	is := func(v any) bool { return compare(v) == 0 }
	switch c.Op {
	case store.OpEq:
		return compare(c.Values[0]) == 0
	case store.OpNe:
		return compare(c.Values[0]) != 0
	case store.OpLt:
		return compare(c.Values[0]) < 0
	case store.OpLte:
		return compare(c.Values[0]) <= 0
	case store.OpGt:
		return compare(c.Values[0]) > 0
	case store.OpGte:
		return compare(c.Values[0]) >= 0
	case store.OpIn:
		return slices.ContainsFunc(c.Values, is)
	case store.OpNin:
		return !slices.ContainsFunc(c.Values, is)
	}
	panic("storetest: no model for " + c.Op)
}

// model computes q over users: the page and the number of users all conditions select. ctn
// and start_with compare exactly (fold is the identity) or without ASCII case (asciiLower).
func model(users []store.User, q store.Query, fold func(string) string) (page []int64, total int) {
	var sel []store.User
	for _, u := range users {
		ok := true
		for _, c := range q.Conds {
			if !matches(u, c, fold) {
				ok = false
				break
			}
		}
		if ok {
			sel = append(sel, u)
		}
	}
	total = len(sel)
	sortField := cmp.Or(q.Sort, store.FieldID)
	order := func(a, b store.User) int {
		c := compareKeys(keyOf(a, sortField), keyOf(b, sortField))
		if q.Desc {
			return -c
		}
		return c
	}
	slices.SortFunc(sel, order)
	if q.After != nil {
		sel = slices.DeleteFunc(sel, func(u store.User) bool {
			c := compareKeys(keyOf(u, sortField), *q.After)
			if q.Desc {
				return c >= 0
			}
			return c <= 0
		})
	}
	sel = sel[min(q.Offset, len(sel)):]
	sel = sel[:min(q.Limit, len(sel))]
	return userIDs(sel), total
}

// checkQuery runs q and compares its page with the model's. A query whose model answer
// depends on how ctn or start_with treat case is a mistake of the suite: the contract leaves
// it open.
func checkQuery(t *testing.T, s store.Store, users []store.User, q store.Query) {
	t.Helper()
	want, _ := model(users, q, func(s string) string { return s })
	if folded, _ := model(users, q, asciiLower); !slices.Equal(want, folded) {
		t.Fatalf("storetest: query %s depends on case: fix the suite", describe(q))
	}
	got, _, err := s.QueryUsers(t.Context(), q)
	if !assert.NoError(t, err, "query %s", describe(q)) {
		return
	}
	if want == nil {
		want = []int64{}
	}
	assert.Equal(t, want, userIDs(got), "query %s", describe(q))
}

// describe prints a query for failure messages.
func describe(q store.Query) string {
	var b strings.Builder
	for i, c := range q.Conds {
		if i > 0 {
			b.WriteString(" AND ")
		}
		fmt.Fprintf(&b, "%s %s", c.Field, c.Op)
		for _, v := range c.Values {
			if t, ok := v.(time.Time); ok {
				fmt.Fprintf(&b, " %s", t.Sub(t0))
			} else {
				fmt.Fprintf(&b, " %#v", v)
			}
		}
	}
	fmt.Fprintf(&b, " sort %q desc %v limit %d offset %d", q.Sort, q.Desc, q.Limit, q.Offset)
	if q.After != nil {
		fmt.Fprintf(&b, " after %#v", *q.After)
	}
	return b.String()
}

// fieldValues returns the query values to try on a field: every value of the data set, values
// between and around them, and values nobody has.
func fieldValues(users []store.User, field string) []any {
	var vs []any
	add := func(v any) {
		if !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	switch fieldKind(field) {
	case kindInt:
		for _, u := range users {
			add(u.ID)
		}
		add(int64(0))
		add(users[len(users)-1].ID + 1)
	case kindTime:
		for _, u := range users {
			ms := numOf(u, field)
			add(time.UnixMilli(ms).UTC())
			add(time.UnixMilli(ms + 1).UTC())
		}
		add(at(0))
		add(at(time.Hour))
	case kindTags:
		for _, u := range users {
			for _, tag := range u.Tags {
				add(tag)
			}
		}
		add("missing")
		add("re")
	default:
		for _, u := range users {
			add(textOf(u, field))
		}
		for _, v := range []string{"", "+", "1", "a", "alice0", "m", "https://", "zz", "~", "Zoë"} {
			add(v)
		}
	}
	return vs
}

// likeValues are the values ctn and start_with are tried with, per field. None of them
// depends on whether start_with or a LIKE-based ctn ignores case (checkQuery checks that).
var likeValues = map[string]struct{ ctn, start []string }{
	store.FieldLogin: {
		ctn:   []string{"", "a", "a_", "_", "%", `\`, "x", "o", "al", "zed", "e", "nobody"},
		start: []string{"", "a", "a_", "_", "%", `\`, "x", "o", "al", "zed", "e", "nobody"},
	},
	store.FieldWebsite: {
		ctn: []string{"", "https://", "http://", "%", "_", `\`, `a\b`, "a", "example.com", "example.org",
			"under_", "under", "?q=50%25", "50%", ".com/", "/_", "nobody"},
		start: []string{"", "https://", "http://", "%", "_", `\`, "https://under_", "https://under", "h", "nobody"},
	},
	// ctn on full_name is a search without regard to case or accents, of 3 characters or more.
	store.FieldFullName: {
		ctn: []string{"zoe", "Zoë", "ZOË", "ström", "strom", "Ångs", "angs", "ünal", "unal", "mull", "leo",
			"100%", "00%", "0 C", `k\S`, `"The"`, `"th`, "o'b", "e_b", "e b", "cotton", "% W", "nobody", "Zed"},
		start: []string{"", "Al", "Ali", "Zoë", "Back", `Back\`, "100", "100%", "Kim \"", "Judy O'", "%", "_",
			"Zed", "Ivan Ü", "Oscar %", "Léo", "nobody"},
	},
}

func testQueryRoundTrip(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	got, total, err := s.QueryUsers(t.Context(), store.Query{Limit: 100, TotalCap: 100})
	require.NoError(t, err)
	require.Len(t, got, len(users))
	assert.Equal(t, len(users), total)
	for i := range users {
		want := users[i]
		// Lists carry no hash, nor the canonical forms unless sorted by them.
		want.PasswordHash, want.LoginCanon, want.EmailCanon = "", "", ""
		assert.Equal(t, normUser(want), normUser(got[i]), "user %d comes back whole", i)
	}
}

func testQueryFilters(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	for _, f := range queryFields {
		t.Run(f.name, func(t *testing.T) {
			values := fieldValues(users, f.name)
			var conds []store.Cond
			one := func(op string, v any) { conds = append(conds, store.Cond{Field: f.name, Op: op, Values: []any{v}}) }
			list := func(op string, vs ...any) { conds = append(conds, store.Cond{Field: f.name, Op: op, Values: vs}) }
			// Login and email equal to "" are left out: whether eq "" finds the users without
			// a login is not part of the contract.
			noEmpty := func(v any) bool { return v != "" || (f.name != store.FieldLogin && f.name != store.FieldEmail) }
			for i, v := range values {
				var ops []string
				switch f.kind {
				case kindTags:
					ops = []string{store.OpEq, store.OpNe}
				default:
					ops = []string{store.OpEq, store.OpNe, store.OpLt, store.OpLte, store.OpGt, store.OpGte}
				}
				for _, op := range ops {
					if op == store.OpEq && !noEmpty(v) {
						continue
					}
					one(op, v)
				}
				w := values[(i+3)%len(values)]
				inOps := []string{store.OpIn, store.OpNin}
				if f.kind == kindTags {
					inOps = append(inOps, store.OpAll)
				}
				for _, op := range inOps {
					if op == store.OpIn && (!noEmpty(v) || !noEmpty(w)) {
						list(store.OpNin, v, w)
						continue
					}
					list(op, v)
					list(op, v, w)
					list(op, w, v, v)
				}
			}
			var all []any
			for _, v := range values {
				if noEmpty(v) {
					all = append(all, v)
				}
			}
			list(store.OpIn, all...)
			list(store.OpNin, all...)
			if f.kind == kindTags {
				list(store.OpAll, "red", "blue")
				list(store.OpAll, "red", "green", "blue")
				list(store.OpAll, "blue", "red", "missing")
			}
			if f.like {
				for _, v := range likeValues[f.name].ctn {
					one(store.OpContains, v)
				}
				for _, v := range likeValues[f.name].start {
					one(store.OpStartsWith, v)
				}
			}

			for _, c := range conds {
				q := store.Query{Conds: []store.Cond{c}, Limit: 100}
				checkQuery(t, s, users, q)
				if f.kind == kindTags || f.kind == kindInt {
					q.Desc = true
					checkQuery(t, s, users, q)
				}
			}
		})
	}
}

func testQueryCombined(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	c := func(field, op string, vs ...any) store.Cond { return store.Cond{Field: field, Op: op, Values: vs} }
	red := c(store.FieldTags, store.OpEq, "red")
	anyOf := c(store.FieldTags, store.OpIn, "red", "green")
	for _, conds := range [][]store.Cond{
		{red, c(store.FieldLogin, store.OpGt, "b")},
		{anyOf, c(store.FieldCreatedAt, store.OpLt, at(10*time.Minute))},
		{c(store.FieldCreatedAt, store.OpLt, at(10*time.Minute)), anyOf},
		{c(store.FieldFullName, store.OpContains, "cotton"), red},
		{red, c(store.FieldTags, store.OpEq, "blue")},
		{red, c(store.FieldTags, store.OpNe, "blue")},
		{anyOf, c(store.FieldTags, store.OpIn, "blue", "zeta")},
		{c(store.FieldTags, store.OpAll, "red", "blue"), c(store.FieldID, store.OpGt, users[0].ID)},
		{c(store.FieldPhone, store.OpIn, "14155550100", "+14155550100"), c(store.FieldEmail, store.OpNe, "")},
		{c(store.FieldExternalID, store.OpNe, ""), c(store.FieldWebsite, store.OpStartsWith, "https://")},
		{c(store.FieldID, store.OpGte, users[3].ID), c(store.FieldID, store.OpLte, users[15].ID), c(store.FieldTags, store.OpNin, "red")},
		{c(store.FieldUpdatedAt, store.OpGte, users[4].UpdatedAt), c(store.FieldLastRequestAt, store.OpLt, users[4].LastRequestAt)},
	} {
		for _, sortField := range []string{"", store.FieldID, store.FieldLogin, store.FieldCreatedAt} {
			for _, desc := range []bool{false, true} {
				for _, lo := range [][2]int{{100, 0}, {2, 0}, {2, 1}, {3, 4}} {
					checkQuery(t, s, users, store.Query{Conds: conds, Sort: sortField, Desc: desc, Limit: lo[0], Offset: lo[1]})
				}
			}
		}
	}
}

func testQuerySort(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	for _, f := range queryFields {
		for _, desc := range []bool{false, true} {
			checkQuery(t, s, users, store.Query{Sort: f.name, Desc: desc, Limit: 100})
		}
	}
	// "" sorts by id.
	checkQuery(t, s, users, store.Query{Limit: 100})
	checkQuery(t, s, users, store.Query{Desc: true, Limit: 100})
}

func testQueryLimitOffset(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	tagConds := [][]store.Cond{
		nil,
		{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"red"}}},
		{{Field: store.FieldTags, Op: store.OpIn, Values: []any{"red", "green"}}},
	}
	for _, conds := range tagConds {
		for _, f := range queryFields {
			for _, desc := range []bool{false, true} {
				for _, lo := range [][2]int{{0, 0}, {1, 0}, {3, 0}, {3, 1}, {3, 2}, {3, 5}, {4, 9}, {3, 18}, {3, 19}, {3, 20}, {3, 25}, {100, 7}} {
					checkQuery(t, s, users, store.Query{Conds: conds, Sort: f.name, Desc: desc, Limit: lo[0], Offset: lo[1]})
				}
			}
		}
	}
}

// testQueryAfter pages through every order by key, alone and under conditions.
func testQueryAfter(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	condSets := [][]store.Cond{
		nil,
		{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"red"}}},
		{{Field: store.FieldTags, Op: store.OpIn, Values: []any{"red", "green"}}},
		{{Field: store.FieldTags, Op: store.OpIn, Values: []any{"blue"}}, {Field: store.FieldLogin, Op: store.OpNe, Values: []any{"bob"}}},
		{{Field: store.FieldLogin, Op: store.OpGt, Values: []any{"b"}}},
	}
	for _, conds := range condSets {
		for _, f := range queryFields {
			for _, desc := range []bool{false, true} {
				q := store.Query{Conds: conds, Sort: f.name, Desc: desc, Limit: 100}
				all, _ := model(users, q, func(s string) string { return s })
				var walked []int64
				q.Limit = 3
				for range len(users) + 1 {
					got, _, err := s.QueryUsers(t.Context(), q)
					require.NoError(t, err, "query %s", describe(q))
					want, _ := model(users, q, func(s string) string { return s })
					if want == nil {
						want = []int64{}
					}
					require.Equal(t, want, userIDs(got), "query %s", describe(q))
					if len(got) == 0 {
						break
					}
					walked = append(walked, userIDs(got)...)
					key := keyOf(got[len(got)-1], f.name)
					q.After = &key
				}
				assert.Equal(t, all, walked, "pages of sort %s desc %v with %d conditions", f.name, desc, len(conds))
			}
		}
	}
	// A key that is no user's: strictly after its position, ties broken by id.
	byCreated := store.Query{Sort: store.FieldCreatedAt, Limit: 100,
		After: &store.Key{Value: users[4].CreatedAt.UnixMilli(), ID: users[3].ID}}
	checkQuery(t, s, users, byCreated)
	byCreated.After = &store.Key{Value: users[4].CreatedAt.UnixMilli(), ID: 0}
	checkQuery(t, s, users, byCreated)
	byCreated.After = &store.Key{Value: users[4].CreatedAt.UnixMilli() + 1, ID: 0}
	checkQuery(t, s, users, byCreated)
	byLogin := store.Query{Sort: store.FieldLogin, Limit: 100, After: &store.Key{Value: "c", ID: 1 << 40}}
	checkQuery(t, s, users, byLogin)
	byLogin.After, byLogin.Desc = &store.Key{Value: "", ID: 1 << 40}, true
	checkQuery(t, s, users, byLogin)
	byID := store.Query{Limit: 100, After: &store.Key{Value: int64(0), ID: 0}}
	checkQuery(t, s, users, byID)
}

func testQueryTotal(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	ctx := t.Context()
	total := func(q store.Query) int {
		t.Helper()
		_, n, err := s.QueryUsers(ctx, q)
		require.NoError(t, err, "query %s", describe(q))
		return n
	}
	count := func(conds []store.Cond) int {
		_, n := model(users, store.Query{Conds: conds, Limit: 1000}, func(s string) string { return s })
		return n
	}
	after := keyOf(users[5], store.FieldID)
	pages := []store.Query{
		{Limit: 100}, {Limit: 1}, {Limit: 2, Offset: 3}, {Limit: 0}, {Limit: 2, After: &after},
		{Limit: 2, Desc: true}, {Limit: 5, Sort: store.FieldFullName},
	}

	// Exact from the counters, beyond the cap: no condition, one tag.
	exact := [][]store.Cond{
		nil,
		{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"red"}}},
		{{Field: store.FieldTags, Op: store.OpIn, Values: []any{"red"}}},
		{{Field: store.FieldTags, Op: store.OpAll, Values: []any{"red"}}},
		{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"blue"}}},
		{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"missing"}}},
	}
	for _, conds := range exact {
		want := count(conds)
		for _, page := range pages {
			for _, capN := range []int{1, 2, 5, 1000} {
				q := page
				q.Conds, q.TotalCap = conds, capN
				assert.Equal(t, want, total(q), "exact total of %s, cap %d", describe(q), capN)
			}
		}
	}
	require.Equal(t, len(users), count(nil))
	require.Equal(t, 8, count(exact[1]), "red")

	// Counted up to the cap otherwise.
	capped := [][]store.Cond{
		{{Field: store.FieldTags, Op: store.OpIn, Values: []any{"red", "green"}}},
		{{Field: store.FieldTags, Op: store.OpNe, Values: []any{"red"}}},
		{{Field: store.FieldTags, Op: store.OpNin, Values: []any{"red", "blue"}}},
		{{Field: store.FieldTags, Op: store.OpAll, Values: []any{"red", "blue"}}},
		{{Field: store.FieldLogin, Op: store.OpGt, Values: []any{"b"}}},
		{{Field: store.FieldFullName, Op: store.OpContains, Values: []any{"zoe"}}},
		{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"red"}}, {Field: store.FieldID, Op: store.OpGt, Values: []any{int64(0)}}},
		{{Field: store.FieldID, Op: store.OpGt, Values: []any{int64(0)}}},
	}
	for _, conds := range capped {
		want := count(conds)
		require.Positive(t, want, "conditions %s select nobody: fix the suite", describe(store.Query{Conds: conds}))
		for _, page := range pages {
			for _, capN := range []int{1, 2, 5, 1000} {
				q := page
				q.Conds, q.TotalCap = conds, capN
				assert.Equal(t, min(want, capN), total(q), "capped total of %s, cap %d", describe(q), capN)
			}
		}
	}
}

func testQueryFullNameSearch(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	id := func(name string) int64 {
		for _, u := range users {
			if u.FullName == name {
				return u.ID
			}
		}
		t.Fatalf("no user named %q", name)
		return 0
	}
	zoe, ball, ball2 := id("Zoë Ångström"), id("ZOE BALL"), id("zoe_ball")
	for _, tc := range []struct {
		sub  string
		want []int64
	}{
		{"zoe", []int64{zoe, ball, ball2}},
		{"ZOË", []int64{zoe, ball, ball2}},
		{"zoë", []int64{zoe, ball, ball2}},
		{"angstrom", []int64{zoe}},
		{"ÅNGSTRÖM", []int64{zoe}},
		{"unal", []int64{id("Ivan Ünal")}},
		{"MÜLLER", []int64{id("Léo Müller")}},
		{"e b", []int64{ball}},
		{"e_b", []int64{ball2}},
		{"abc", []int64{}},
	} {
		assert.Equal(t, tc.want, fullNameSearch(t, s, tc.sub), "full_name ctn %q", tc.sub)
	}
}

func testQueryLikeWildcards(t *testing.T, s store.Store) {
	users := seedQueryData(t, s)
	ids := func(field string, pred func(string) bool) []int64 {
		out := []int64{}
		for _, u := range users {
			if pred(textOf(u, field)) {
				out = append(out, u.ID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		field, op, value string
		want             []int64
	}{
		{store.FieldLogin, store.OpStartsWith, "a_", ids(store.FieldLogin, func(s string) bool { return s == "a_b" })},
		{store.FieldLogin, store.OpContains, "_", ids(store.FieldLogin, func(s string) bool { return s == "a_b" })},
		{store.FieldFullName, store.OpStartsWith, "100%", ids(store.FieldFullName, func(s string) bool { return s == "100% Cotton" })},
		{store.FieldFullName, store.OpStartsWith, `Back\`, ids(store.FieldFullName, func(s string) bool { return s == `Back\Slash Jr` })},
		{store.FieldFullName, store.OpContains, "00%", ids(store.FieldFullName, func(s string) bool { return s == "100% Cotton" })},
		{store.FieldFullName, store.OpContains, `k\s`, ids(store.FieldFullName, func(s string) bool { return s == `Back\Slash Jr` })},
		{store.FieldWebsite, store.OpContains, "%", ids(store.FieldWebsite, func(s string) bool { return strings.Contains(s, "%") })},
		{store.FieldWebsite, store.OpContains, "_", ids(store.FieldWebsite, func(s string) bool { return strings.Contains(s, "_") })},
		{store.FieldWebsite, store.OpContains, `\`, ids(store.FieldWebsite, func(s string) bool { return strings.Contains(s, `\`) })},
		{store.FieldWebsite, store.OpContains, `a\b`, ids(store.FieldWebsite, func(s string) bool { return strings.Contains(s, `a\b`) })},
		{store.FieldWebsite, store.OpStartsWith, "https://under_", ids(store.FieldWebsite, func(s string) bool { return s == "https://under_score.example" })},
	} {
		got, _, err := s.QueryUsers(t.Context(), store.Query{
			Conds: []store.Cond{{Field: tc.field, Op: tc.op, Values: []any{tc.value}}},
			Limit: 100,
		})
		if assert.NoError(t, err, "%s %s %q", tc.field, tc.op, tc.value) {
			assert.Equal(t, tc.want, userIDs(got), "%s %s %q", tc.field, tc.op, tc.value)
		}
		require.NotEmpty(t, tc.want, "%s %s %q: the data set should have a match", tc.field, tc.op, tc.value)
	}
	// A wildcard alone matches only itself: nobody here.
	for _, tc := range []struct{ field, op, value string }{
		{store.FieldLogin, store.OpContains, "%"},
		{store.FieldLogin, store.OpStartsWith, "_"},
		{store.FieldFullName, store.OpStartsWith, "%"},
		{store.FieldFullName, store.OpStartsWith, "_"},
		{store.FieldFullName, store.OpStartsWith, `\`},
		{store.FieldWebsite, store.OpStartsWith, "%"},
		{store.FieldWebsite, store.OpContains, "%%"},
		{store.FieldWebsite, store.OpContains, `\\`},
	} {
		got, _, err := s.QueryUsers(t.Context(), store.Query{
			Conds: []store.Cond{{Field: tc.field, Op: tc.op, Values: []any{tc.value}}},
			Limit: 100,
		})
		if assert.NoError(t, err, "%s %s %q", tc.field, tc.op, tc.value) {
			assert.Empty(t, got, "%s %s %q", tc.field, tc.op, tc.value)
		}
	}
}

// testQueryRefused: fields, operators and sorts outside the allowlists are errors.
func testQueryRefused(t *testing.T, s store.Store) {
	seedQueryData(t, s)
	c := func(field, op string, vs ...any) []store.Cond {
		return []store.Cond{{Field: field, Op: op, Values: vs}}
	}
	for _, q := range []store.Query{
		{Conds: c("password_hash", store.OpEq, "x")},
		{Conds: c("", store.OpEq, "x")},
		{Conds: c("ID", store.OpEq, int64(1))},
		{Conds: c("id; DROP TABLE users", store.OpEq, int64(1))},
		{Conds: c("tags", store.OpEq, "red")},
		{Conds: c("custom_data", store.OpContains, "x")},
		{Conds: c(store.FieldLogin, "like", "a%")},
		{Conds: c(store.FieldLogin, "", "a")},
		{Conds: c(store.FieldLogin, "EQ", "a")},
		{Conds: c(store.FieldLogin, "= 'a' OR 1=1 --", "a")},
		{Conds: c(store.FieldLogin, store.OpAll, "a")},
		{Conds: c(store.FieldID, store.OpAll, int64(1))},
		{Conds: c(store.FieldEmail, store.OpContains, "example")},
		{Conds: c(store.FieldEmail, store.OpStartsWith, "alice")},
		{Conds: c(store.FieldPhone, store.OpContains, "555")},
		{Conds: c(store.FieldExternalID, store.OpStartsWith, "ext")},
		{Conds: c(store.FieldID, store.OpContains, int64(1))},
		{Conds: c(store.FieldCreatedAt, store.OpStartsWith, at(0))},
		{Conds: c(store.FieldTags, store.OpLt, "red")},
		{Conds: c(store.FieldTags, store.OpContains, "re")},
		{Conds: c(store.FieldTags, store.OpStartsWith, "re")},
		{Sort: "password_hash"},
		{Sort: "tags"},
		{Sort: "id desc"},
		{Sort: "ID"},
		{Sort: "id; DROP TABLE users"},
		{Sort: "1"},
	} {
		q.Limit = 10
		_, _, err := s.QueryUsers(t.Context(), q)
		assert.Error(t, err, "query %s", describe(q))
	}
	// The store is intact.
	got, total, err := s.QueryUsers(t.Context(), store.Query{Limit: 100, TotalCap: 100})
	require.NoError(t, err)
	assert.Len(t, got, len(queryData))
	assert.Equal(t, len(queryData), total)
}

// testOldestBy checks a non-unique look-up: the oldest (lowest id) match, "" never matches,
// otherwise ErrNotFound. With plusSame (phones), a value with and without its leading "+" is
// the same value.
func testOldestBy(t *testing.T, s store.Store, plusSame bool, set func(u *store.User, v string), by func(ctx context.Context, v string) (store.User, error)) {
	ctx := t.Context()
	mk := func(n int, v string) store.User {
		u := numberedUser(n)
		set(&u, v)
		return createUser(t, s, u)
	}
	mk(1, "") // users with no value come first: "" must not find them
	first := mk(2, "14155550100")
	plus := mk(3, "+14155550100")
	second := mk(4, "14155550100")
	mk(5, "")
	solo := mk(6, "447911123456")
	plusOnly := mk(7, "+447911000000")

	type lookup struct {
		value string
		want  int64
	}
	cases := []lookup{{"14155550100", first.ID}, {"447911123456", solo.ID}, {"+447911000000", plusOnly.ID}}
	if plusSame {
		cases = append(cases, lookup{"+14155550100", first.ID}, lookup{"+447911123456", solo.ID}, lookup{"447911000000", plusOnly.ID})
	} else {
		cases = append(cases, lookup{"+14155550100", plus.ID})
	}
	for _, tc := range cases {
		got, err := by(ctx, tc.value)
		require.NoError(t, err, "value %q", tc.value)
		assert.Equal(t, tc.want, got.ID, "value %q: the oldest", tc.value)
	}
	got, err := by(ctx, "447911123456")
	require.NoError(t, err)
	assert.Equal(t, normUser(solo), normUser(got), "the whole user")

	missing := []string{"", "1415555010", "14155550100 ", "%", "_4155550100"}
	if !plusSame {
		missing = append(missing, "+447911123456", "447911000000")
	}
	for _, v := range missing {
		_, err := by(ctx, v)
		assert.ErrorIs(t, err, store.ErrNotFound, "value %q", v)
	}

	// With the oldest gone, the next oldest.
	se := userSession("first", first.ID, at(0))
	createSessions(t, s, se)
	_, err = s.DeleteUser(ctx, se.TokenHash, first.ID)
	require.NoError(t, err)
	next := second.ID
	if plusSame {
		next = plus.ID
	}
	got, err = by(ctx, "14155550100")
	require.NoError(t, err)
	assert.Equal(t, next, got.ID)
}

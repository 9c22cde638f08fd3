package query_test

import (
	"strings"
	"time"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite/internal/query"
)

// The queries of TestBuild, with the SQL and arguments each must build. The expected text was
// generated from the builder as it was moved here (the one the store's tests and
// FuzzBuildUserQuery prove on SQLite), then read through by hand; a change of the SQL a query
// builds must change this table too.

// testBuilder selects four columns: the id, the password hash (always NULL in lists) and the
// canonical login and email (NULL unless the sort is by one of them).
var testBuilder = query.NewBuilder("u.id, u.password_hash, u.login_canon, u.email_canon")

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC) // 1767323045006 ms

func cond(field, op string, vs ...any) store.Cond {
	return store.Cond{Field: field, Op: op, Values: vs}
}

func strs(n int) []any {
	vs := make([]any, n)
	for i := range vs {
		vs[i] = "t" + strings.Repeat("x", i)
	}
	return vs
}

type buildCase struct {
	name      string
	q         store.Query
	sql       string
	args      []any
	count     string
	countArgs []any
}

var buildCases = []buildCase{
	{
		name: "Empty", q: store.Query{},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{0, 0},
	},
	{
		name: "IDPageWithTotal", q: store.Query{Limit: 10, Offset: 20, TotalCap: 1},
		sql:   `SELECT u.id, NULL, NULL, NULL FROM users u ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args:  []any{10, 20},
		count: `SELECT n FROM counters WHERE name = 'users'`,
	},
	{
		name: "IDDescAfter", q: store.Query{Desc: true, Limit: 5, After: &store.Key{Value: int64(7), ID: 7}},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.id < ? ORDER BY u.id DESC LIMIT ? OFFSET ?`,
		args: []any{int64(7), 5, 0},
	},
	{
		name: "LoginSortAfter", q: store.Query{Sort: store.FieldLogin, Limit: 3, After: &store.Key{Value: "bob", ID: 4}},
		sql:  `SELECT u.id, NULL, u.login_canon, u.email_canon FROM users u WHERE (ifnull(u.login_canon, '') > ? OR (ifnull(u.login_canon, '') = ? AND u.id > ?)) ORDER BY ifnull(u.login_canon, '') ASC, u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"bob", "bob", int64(4), 3, 0},
	},
	{
		name: "EmailSortDescAfter", q: store.Query{Sort: store.FieldEmail, Desc: true, Limit: 3, After: &store.Key{Value: "b@x.example", ID: 4}},
		sql:  `SELECT u.id, NULL, u.login_canon, u.email_canon FROM users u WHERE (ifnull(u.email_canon, '') < ? OR (ifnull(u.email_canon, '') = ? AND u.id < ?)) ORDER BY ifnull(u.email_canon, '') DESC, u.id DESC LIMIT ? OFFSET ?`,
		args: []any{"b@x.example", "b@x.example", int64(4), 3, 0},
	},
	{
		name: "CreatedAtSortAfter", q: store.Query{Sort: store.FieldCreatedAt, Limit: 3, After: &store.Key{Value: int64(1767323045006), ID: 9}},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE (u.created_at > ? OR (u.created_at = ? AND u.id > ?)) ORDER BY u.created_at ASC, u.id ASC LIMIT ? OFFSET ?`,
		args: []any{int64(1767323045006), int64(1767323045006), int64(9), 3, 0},
	},
	{
		name: "FullNameSort", q: store.Query{Sort: store.FieldFullName, Limit: 3},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u ORDER BY u.full_name ASC, u.id ASC LIMIT ? OFFSET ?`,
		args: []any{3, 0},
	},
	{
		name: "LoginEq", q: store.Query{Conds: []store.Cond{cond(store.FieldLogin, store.OpEq, "alice")}, Limit: 1},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.login_canon = ? ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"alice", 1, 0},
	},
	{
		name: "LoginNe", q: store.Query{Conds: []store.Cond{cond(store.FieldLogin, store.OpNe, "alice")}, Limit: 1},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE ifnull(u.login_canon, '') <> ? ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"alice", 1, 0},
	},
	{
		name: "EmailIn1", q: store.Query{Conds: []store.Cond{cond(store.FieldEmail, store.OpIn, "a@x.example")}, Limit: 1},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.email_canon IN (?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"a@x.example", 1, 0},
	},
	{
		name: "EmailIn2", q: store.Query{Conds: []store.Cond{cond(store.FieldEmail, store.OpIn, "a", "b")}, Limit: 1},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.email_canon IN (?, ?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"a", "b", 1, 0},
	},
	{
		name: "EmailIn3", q: store.Query{Conds: []store.Cond{cond(store.FieldEmail, store.OpIn, "a", "b", "c")}, Limit: 1},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.email_canon IN (?, ?, ?, ?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"a", "b", "c", "c", 1, 0},
	},
	{
		name: "PhoneNin5", q: store.Query{Conds: []store.Cond{cond(store.FieldPhone, store.OpNin, "1", "2", "3", "4", "5")}, Limit: 1},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.phone NOT IN (?, ?, ?, ?, ?, ?, ?, ?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"1", "2", "3", "4", "5", "5", "5", "5", 1, 0},
	},
	{name: "IDComparisons", q: store.Query{Conds: []store.Cond{
		cond(store.FieldID, store.OpLt, int64(10)), cond(store.FieldID, store.OpLte, int64(11)),
		cond(store.FieldID, store.OpGt, int64(1)), cond(store.FieldID, store.OpGte, int64(2)),
		cond(store.FieldID, store.OpNe, int64(5)), cond(store.FieldID, store.OpEq, int64(6)),
	}, Limit: 2, TotalCap: 50},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.id < ? AND u.id <= ? AND u.id > ? AND u.id >= ? AND u.id <> ? AND u.id = ? ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args:      []any{int64(10), int64(11), int64(1), int64(2), int64(5), int64(6), 2, 0},
		count:     `SELECT count(*) FROM (SELECT 1 FROM users u WHERE u.id < ? AND u.id <= ? AND u.id > ? AND u.id >= ? AND u.id <> ? AND u.id = ? LIMIT ?)`,
		countArgs: []any{int64(10), int64(11), int64(1), int64(2), int64(5), int64(6), 50},
	},
	{
		name: "TimeLt", q: store.Query{Conds: []store.Cond{cond(store.FieldCreatedAt, store.OpLt, t0)}, Limit: 2},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.created_at < ? ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{int64(1767323045006), 2, 0},
	},
	{
		name: "TimeIn", q: store.Query{Conds: []store.Cond{cond(store.FieldLastRequestAt, store.OpIn, t0, time.Time{})}, Limit: 2},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.last_request_at IN (?, ?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{int64(1767323045006), int64(0), 2, 0},
	},
	{
		name: "WebsiteContains", q: store.Query{Conds: []store.Cond{cond(store.FieldWebsite, store.OpContains, `50%_a\b`)}, Limit: 2},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.website LIKE ? ESCAPE '\' ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"%50\\%\\_a\\\\b%", 2, 0},
	},
	{
		name: "LoginStartsWith", q: store.Query{Conds: []store.Cond{cond(store.FieldLogin, store.OpStartsWith, "al_")}, Limit: 2},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE ifnull(u.login_canon, '') LIKE ? ESCAPE '\' ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"al\\_%", 2, 0},
	},
	{
		name: "FullNameStartsWith", q: store.Query{Conds: []store.Cond{cond(store.FieldFullName, store.OpStartsWith, "Zo")}, Limit: 2},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.full_name LIKE ? ESCAPE '\' ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"Zo%", 2, 0},
	},
	{
		name: "OneTagWithTotal", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpEq, "red")}, Limit: 10, Offset: 5, TotalCap: 100},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM (SELECT user_id FROM user_tags WHERE tag = ? ORDER BY 1 LIMIT ?) t JOIN users u ON u.id = t.user_id ORDER BY t.user_id ASC LIMIT ? OFFSET ?`,
		args:      []any{"red", 15, 10, 5},
		count:     `SELECT ifnull((SELECT n FROM tag_counts WHERE tag = ?), 0)`,
		countArgs: []any{"red"},
	},
	{
		name: "OneTagInWithTotal", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpIn, "red")}, Limit: 10, TotalCap: 100},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM (SELECT user_id FROM user_tags WHERE tag = ? ORDER BY 1 LIMIT ?) t JOIN users u ON u.id = t.user_id ORDER BY t.user_id ASC LIMIT ? OFFSET ?`,
		args:      []any{"red", 10, 10, 0},
		count:     `SELECT ifnull((SELECT n FROM tag_counts WHERE tag = ?), 0)`,
		countArgs: []any{"red"},
	},
	{
		name: "OneTagAllWithTotal", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpAll, "red")}, Limit: 10, TotalCap: 100},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.id IN (SELECT user_id FROM user_tags WHERE tag = ?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args:      []any{"red", 10, 0},
		count:     `SELECT ifnull((SELECT n FROM tag_counts WHERE tag = ?), 0)`,
		countArgs: []any{"red"},
	},
	{
		name: "TwoTagsInDescAfterWithTotal", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpIn, "red", "blue")}, Desc: true, Limit: 3, After: &store.Key{Value: int64(8), ID: 8}, TotalCap: 5},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM (SELECT user_id FROM user_tags WHERE tag = ? AND user_id < ? UNION SELECT user_id FROM user_tags WHERE tag = ? AND user_id < ? ORDER BY 1 DESC LIMIT ?) t JOIN users u ON u.id = t.user_id WHERE u.id < ? ORDER BY t.user_id DESC LIMIT ? OFFSET ?`,
		args:      []any{"red", int64(8), "blue", int64(8), 3, int64(8), 3, 0},
		count:     `SELECT count(*) FROM (SELECT user_id FROM user_tags WHERE tag = ? UNION SELECT user_id FROM user_tags WHERE tag = ? ORDER BY 1 LIMIT ?)`,
		countArgs: []any{"red", "blue", 5},
	},
	{
		name: "TwoTagsInAfter", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpIn, "red", "blue")}, Limit: 3, After: &store.Key{Value: int64(8), ID: 8}},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM (SELECT user_id FROM user_tags WHERE tag = ? AND user_id > ? UNION SELECT user_id FROM user_tags WHERE tag = ? AND user_id > ? ORDER BY 1 LIMIT ?) t JOIN users u ON u.id = t.user_id WHERE u.id > ? ORDER BY t.user_id ASC LIMIT ? OFFSET ?`,
		args: []any{"red", int64(8), "blue", int64(8), 3, int64(8), 3, 0},
	},
	{
		name: "TagsInWithOther", q: store.Query{Conds: []store.Cond{cond(store.FieldLogin, store.OpNe, "x"), cond(store.FieldTags, store.OpIn, "red", "blue")}, Limit: 3, TotalCap: 5},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM (SELECT user_id FROM user_tags WHERE tag = ? UNION SELECT user_id FROM user_tags WHERE tag = ? ORDER BY 1) t JOIN users u ON u.id = t.user_id WHERE ifnull(u.login_canon, '') <> ? ORDER BY t.user_id ASC LIMIT ? OFFSET ?`,
		args:      []any{"red", "blue", "x", 3, 0},
		count:     `SELECT count(*) FROM (SELECT 1 FROM (SELECT user_id FROM user_tags WHERE tag = ? UNION SELECT user_id FROM user_tags WHERE tag = ? ORDER BY 1) t JOIN users u ON u.id = t.user_id WHERE ifnull(u.login_canon, '') <> ? LIMIT ?)`,
		countArgs: []any{"red", "blue", "x", 5},
	},
	{
		name: "TagsInLoginSort", q: store.Query{Sort: store.FieldLogin, Conds: []store.Cond{cond(store.FieldTags, store.OpEq, "red")}, Limit: 3},
		sql:  `SELECT u.id, NULL, u.login_canon, u.email_canon FROM users u WHERE u.id IN (SELECT user_id FROM user_tags WHERE tag = ?) ORDER BY ifnull(u.login_canon, '') ASC, u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"red", 3, 0},
	},
	{
		name: "TagsAllTwoWithTotal", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpAll, "red", "blue")}, Limit: 3, TotalCap: 5},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.id IN (SELECT user_id FROM user_tags WHERE tag = ? INTERSECT SELECT user_id FROM user_tags WHERE tag = ?) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args:      []any{"red", "blue", 3, 0},
		count:     `SELECT count(*) FROM (SELECT 1 FROM users u WHERE u.id IN (SELECT user_id FROM user_tags WHERE tag = ? INTERSECT SELECT user_id FROM user_tags WHERE tag = ?) LIMIT ?)`,
		countArgs: []any{"red", "blue", 5},
	},
	{
		name: "TagsNeNin", q: store.Query{Conds: []store.Cond{cond(store.FieldTags, store.OpNe, "red"), cond(store.FieldTags, store.OpNin, "a", `b"`)}, Limit: 3},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM users u WHERE u.id NOT IN (SELECT user_id FROM user_tags WHERE tag IN (SELECT value FROM json_each(?))) AND u.id NOT IN (SELECT user_id FROM user_tags WHERE tag IN (SELECT value FROM json_each(?))) ORDER BY u.id ASC LIMIT ? OFFSET ?`,
		args: []any{"[\"red\"]", "[\"a\",\"b\\\"\"]", 3, 0},
	},
	{
		name: "FullNameSearchWithTotal", q: store.Query{Conds: []store.Cond{cond(store.FieldFullName, store.OpContains, `Kim "The"`)}, Limit: 4, Offset: 1, TotalCap: 9},
		sql:       `SELECT u.id, NULL, NULL, NULL FROM (SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ? ORDER BY 1 LIMIT ?) t JOIN users u ON u.id = t.user_id ORDER BY t.user_id ASC LIMIT ? OFFSET ?`,
		args:      []any{"\"Kim \"\"The\"\"\"", 5, 4, 1},
		count:     `SELECT count(*) FROM (SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ? ORDER BY 1 LIMIT ?)`,
		countArgs: []any{"\"Kim \"\"The\"\"\"", 9},
	},
	{
		name: "FullNameSearchDescAfter", q: store.Query{Conds: []store.Cond{cond(store.FieldFullName, store.OpContains, "zoë")}, Desc: true, Limit: 4, After: &store.Key{Value: int64(3), ID: 3}},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM (SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ? AND rowid < ? ORDER BY 1 DESC LIMIT ?) t JOIN users u ON u.id = t.user_id WHERE u.id < ? ORDER BY t.user_id DESC LIMIT ? OFFSET ?`,
		args: []any{"\"zoë\"", int64(3), 4, int64(3), 4, 0},
	},
	{
		name: "FullNameSearchAfterWithOther", q: store.Query{Conds: []store.Cond{cond(store.FieldPhone, store.OpEq, "1"), cond(store.FieldFullName, store.OpContains, "abc")}, Limit: 4, After: &store.Key{Value: int64(3), ID: 3}},
		sql:  `SELECT u.id, NULL, NULL, NULL FROM (SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ? AND rowid > ? ORDER BY 1) t JOIN users u ON u.id = t.user_id WHERE u.phone = ? AND u.id > ? ORDER BY t.user_id ASC LIMIT ? OFFSET ?`,
		args: []any{"\"abc\"", int64(3), "1", int64(3), 4, 0},
	},
	{
		name: "FullNameSearchLoginSort", q: store.Query{Sort: store.FieldLogin, Conds: []store.Cond{cond(store.FieldFullName, store.OpContains, "abc")}, Limit: 4, TotalCap: 2},
		sql:       `SELECT u.id, NULL, u.login_canon, u.email_canon FROM users u WHERE u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?) ORDER BY ifnull(u.login_canon, '') ASC, u.id ASC LIMIT ? OFFSET ?`,
		args:      []any{"\"abc\"", 4, 0},
		count:     `SELECT count(*) FROM (SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ? ORDER BY 1 LIMIT ?)`,
		countArgs: []any{"\"abc\"", 2},
	},
}

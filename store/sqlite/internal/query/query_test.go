package query_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite/internal/query"
)

// TestBuild pins the SQL built for one query of each shape (build_cases_test.go): the column
// lists of each sort, the keyset conditions, the operators, the placeholders rounded up to a
// power of two, LIKE escaping, the index-driven FROM of tags and full-name searches with the
// page's limit inside, and the total from a counter, a tag count or a capped count. The store's
// tests and FuzzBuildUserQuery run such SQL on SQLite; this proves the builder alone.
func TestBuild(t *testing.T) {
	t.Parallel()
	for _, c := range buildCases {
		t.Run(c.name, func(t *testing.T) {
			b, err := testBuilder.Build(c.q)
			require.NoError(t, err)
			assert.Equal(t, query.Built{SQL: c.sql, Args: c.args, Count: c.count, CountArgs: c.countArgs}, b)
		})
	}
}

// TestBuildLimits: a condition takes up to MaxValues values and a tag condition up to
// MaxTagArms tags; one more is refused.
func TestBuildLimits(t *testing.T) {
	t.Parallel()
	b, err := testBuilder.Build(store.Query{Conds: []store.Cond{cond(store.FieldPhone, store.OpIn, strs(query.MaxValues)...)}})
	require.NoError(t, err)
	assert.Equal(t, 1024+2, len(b.Args), "the values rounded up to a power of two, then limit and offset")
	assert.Equal(t, 1024+2, strings.Count(b.SQL, "?"))
	assert.Equal(t, strs(query.MaxValues)[query.MaxValues-1], b.Args[1023], "the last value repeated")

	for _, op := range []string{store.OpAll, store.OpIn} {
		b, err := testBuilder.Build(store.Query{Conds: []store.Cond{cond(store.FieldTags, op, strs(query.MaxTagArms)...)}, Sort: store.FieldLogin})
		require.NoError(t, err, op)
		assert.Equal(t, query.MaxTagArms, strings.Count(b.SQL, "SELECT user_id FROM user_tags WHERE tag = ?"), op)
	}

	for name, q := range map[string]store.Query{
		"Values":     {Conds: []store.Cond{cond(store.FieldPhone, store.OpIn, strs(query.MaxValues+1)...)}},
		"TagsAll":    {Conds: []store.Cond{cond(store.FieldTags, store.OpAll, strs(query.MaxTagArms+1)...)}},
		"TagsDriven": {Conds: []store.Cond{cond(store.FieldTags, store.OpIn, strs(query.MaxTagArms+1)...)}},
	} {
		_, err := testBuilder.Build(q)
		assert.ErrorIs(t, err, query.ErrInvalid, name)
	}
}

// TestBuildRefuses lists queries the builder refuses: names outside the allowlists, operators a
// field does not take, wrong value types and counts, bad keys, short searches, NUL in a search,
// negative sizes (S25).
func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	one := func(field, op string, vs ...any) []store.Cond { return []store.Cond{cond(field, op, vs...)} }
	many := func(n int, v any) []any {
		vs := make([]any, n)
		for i := range vs {
			vs[i] = v
		}
		return vs
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, q := range map[string]store.Query{
		"UnknownSort":          {Sort: "password_hash"},
		"UnknownField":         {Conds: one("password_hash", store.OpEq, "x")},
		"UnknownOperator":      {Conds: one(store.FieldLogin, "like", "x")},
		"AllOnText":            {Conds: one(store.FieldLogin, store.OpAll, "x")},
		"LtOnTags":             {Conds: one(store.FieldTags, store.OpLt, "x")},
		"ContainsOnPhone":      {Conds: one(store.FieldPhone, store.OpContains, "123")},
		"StartsWithOnEmail":    {Conds: one(store.FieldEmail, store.OpStartsWith, "a")},
		"ContainsNUL":          {Conds: one(store.FieldLogin, store.OpContains, "a\x00b")},
		"SearchNUL":            {Conds: one(store.FieldFullName, store.OpContains, "abc\x00"), Sort: store.FieldLogin},
		"SearchNULDriven":      {Conds: one(store.FieldFullName, store.OpContains, "\x00abc")},
		"SearchAsInt":          {Conds: one(store.FieldFullName, store.OpContains, int64(1))},
		"SearchTwoValues":      {Conds: one(store.FieldFullName, store.OpContains, "abc", "def")},
		"IDAsString":           {Conds: one(store.FieldID, store.OpEq, "1")},
		"IDAsInt":              {Conds: one(store.FieldID, store.OpEq, 1)},
		"IDAsTime":             {Conds: one(store.FieldID, store.OpEq, now)},
		"LoginAsInt":           {Conds: one(store.FieldLogin, store.OpEq, int64(1))},
		"TimeAsInt":            {Conds: one(store.FieldCreatedAt, store.OpLt, int64(1))},
		"TimeAsString":         {Conds: one(store.FieldCreatedAt, store.OpLt, "2026-01-01")},
		"TagAsInt":             {Conds: one(store.FieldTags, store.OpEq, int64(1))},
		"TagInAsInt":           {Conds: one(store.FieldTags, store.OpIn, "a", int64(1))},
		"TagInAsIntOtherSort":  {Conds: one(store.FieldTags, store.OpIn, "a", int64(1)), Sort: store.FieldLogin},
		"NoValues":             {Conds: one(store.FieldLogin, store.OpIn)},
		"NoValuesTags":         {Conds: one(store.FieldTags, store.OpIn)},
		"NoValuesTagsNin":      {Conds: one(store.FieldTags, store.OpNin)},
		"TwoValuesEq":          {Conds: one(store.FieldLogin, store.OpEq, "a", "b")},
		"TwoValuesLt":          {Conds: one(store.FieldID, store.OpLt, int64(1), int64(2))},
		"TwoValuesCtn":         {Conds: one(store.FieldLogin, store.OpContains, "a", "b")},
		"TooManyValues":        {Conds: one(store.FieldID, store.OpIn, many(query.MaxValues+1, int64(1))...)},
		"TooManyTags":          {Conds: one(store.FieldTags, store.OpIn, many(query.MaxTagArms+1, "t")...)},
		"TooManyTagsAll":       {Conds: one(store.FieldTags, store.OpAll, many(query.MaxTagArms+1, "t")...)},
		"TooManyTagsOtherSort": {Conds: one(store.FieldTags, store.OpIn, many(query.MaxTagArms+1, "t")...), Sort: store.FieldLogin},
		"ShortSearch":          {Conds: one(store.FieldFullName, store.OpContains, "ab")},
		"ShortSearchRunes":     {Conds: one(store.FieldFullName, store.OpContains, "zö")},
		"ShortSearchOtherSort": {Conds: one(store.FieldFullName, store.OpContains, "zö"), Sort: store.FieldLogin},
		"NegativeLimit":        {Limit: -1},
		"NegativeOffset":       {Limit: 1, Offset: -1},
		"NegativeTotalCap":     {Limit: 1, TotalCap: -1},
		"TimeKeyAsString":      {Sort: store.FieldCreatedAt, After: &store.Key{Value: "1", ID: 1}},
		"TimeKeyAsTime":        {Sort: store.FieldCreatedAt, After: &store.Key{Value: now, ID: 1}},
		"TextKeyAsInt":         {Sort: store.FieldLogin, After: &store.Key{Value: int64(1), ID: 1}},
		"TextKeyNil":           {Sort: store.FieldLogin, After: &store.Key{ID: 1}},
		"TagDrivenKeyAsString": {Conds: one(store.FieldTags, store.OpEq, "t"), After: &store.Key{Value: "1", ID: 1}},
		"SearchKeyAsString":    {Conds: one(store.FieldFullName, store.OpContains, "abc"), After: &store.Key{Value: "1", ID: 1}},
		"BadCountCondition":    {Conds: []store.Cond{cond(store.FieldLogin, store.OpEq, "a"), cond(store.FieldLogin, store.OpContains, "a", "b")}, TotalCap: 5},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := testBuilder.Build(q)
			require.Error(t, err, "built %q", b.SQL)
			assert.ErrorIs(t, err, query.ErrInvalid)
		})
	}
}

// TestBuildSearchLength: a full-name search needs 3 characters (runes, not bytes), on either
// path (index-driven with the id sort, or a condition).
func TestBuildSearchLength(t *testing.T) {
	t.Parallel()
	for _, sortName := range []string{store.FieldID, store.FieldLogin} {
		for _, s := range []string{"abc", "zöé", "日本語"} {
			_, err := testBuilder.Build(store.Query{Sort: sortName, Conds: []store.Cond{cond(store.FieldFullName, store.OpContains, s)}})
			assert.NoError(t, err, "%s sorted by %s", s, sortName)
		}
	}
}

// TestBuildKeepsValuesOut builds a query of hostile values on every field and checks that none
// reaches the SQL text.
func TestBuildKeepsValuesOut(t *testing.T) {
	t.Parallel()
	hostile := `x'); DROP TABLE users; --"%_\`
	var conds []store.Cond
	for _, f := range []string{store.FieldLogin, store.FieldEmail, store.FieldFullName, store.FieldPhone, store.FieldWebsite, store.FieldExternalID} {
		conds = append(conds, cond(f, store.OpNin, hostile))
	}
	conds = append(conds,
		cond(store.FieldTags, store.OpIn, hostile, hostile+"2"),
		cond(store.FieldFullName, store.OpContains, hostile),
		cond(store.FieldWebsite, store.OpStartsWith, hostile),
	)
	b, err := testBuilder.Build(store.Query{Conds: conds, Limit: 10, TotalCap: 10})
	require.NoError(t, err)
	for _, text := range []string{b.SQL, b.Count} {
		assert.NotContains(t, text, "DROP")
		assert.NotContains(t, text, "x')")
	}
	assert.Equal(t, strings.Count(b.SQL, "?"), len(b.Args))
	assert.Equal(t, strings.Count(b.Count, "?"), len(b.CountArgs))
}

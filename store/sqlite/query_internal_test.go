package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
)

// TestBuildUserQueryRefuses lists queries the builder refuses beyond the allowlists the
// conformance suite checks: wrong value types and counts, bad keys, short searches, negative
// sizes (S25).
func TestBuildUserQueryRefuses(t *testing.T) {
	t.Parallel()
	cond := func(field, op string, vs ...any) []store.Cond {
		return []store.Cond{{Field: field, Op: op, Values: vs}}
	}
	many := func(n int, v any) []any {
		vs := make([]any, n)
		for i := range vs {
			vs[i] = v
		}
		return vs
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, q := range map[string]store.Query{
		"IDAsString":           {Conds: cond(store.FieldID, store.OpEq, "1")},
		"IDAsInt":              {Conds: cond(store.FieldID, store.OpEq, 1)},
		"IDAsTime":             {Conds: cond(store.FieldID, store.OpEq, now)},
		"LoginAsInt":           {Conds: cond(store.FieldLogin, store.OpEq, int64(1))},
		"TimeAsInt":            {Conds: cond(store.FieldCreatedAt, store.OpLt, int64(1))},
		"TimeAsString":         {Conds: cond(store.FieldCreatedAt, store.OpLt, "2026-01-01")},
		"TagAsInt":             {Conds: cond(store.FieldTags, store.OpEq, int64(1))},
		"TagInAsInt":           {Conds: cond(store.FieldTags, store.OpIn, "a", int64(1))},
		"NoValues":             {Conds: cond(store.FieldLogin, store.OpIn)},
		"NoValuesTags":         {Conds: cond(store.FieldTags, store.OpIn)},
		"TwoValuesEq":          {Conds: cond(store.FieldLogin, store.OpEq, "a", "b")},
		"TwoValuesLt":          {Conds: cond(store.FieldID, store.OpLt, int64(1), int64(2))},
		"TwoValuesCtn":         {Conds: cond(store.FieldLogin, store.OpContains, "a", "b")},
		"TooManyValues":        {Conds: cond(store.FieldID, store.OpIn, many(MaxValues+1, int64(1))...)},
		"TooManyTags":          {Conds: cond(store.FieldTags, store.OpIn, many(maxTagArms+1, "t")...)},
		"TooManyTagsAll":       {Conds: cond(store.FieldTags, store.OpAll, many(maxTagArms+1, "t")...)},
		"TooManyTagsOtherSort": {Conds: cond(store.FieldTags, store.OpIn, many(maxTagArms+1, "t")...), Sort: store.FieldLogin},
		"ShortSearch":          {Conds: cond(store.FieldFullName, store.OpContains, "ab")},
		"ShortSearchRunes":     {Conds: cond(store.FieldFullName, store.OpContains, "zö")},
		"NegativeLimit":        {Limit: -1},
		"NegativeOffset":       {Limit: 1, Offset: -1},
		"NegativeTotalCap":     {Limit: 1, TotalCap: -1},
		"TimeKeyAsString":      {Sort: store.FieldCreatedAt, After: &store.Key{Value: "1", ID: 1}},
		"TimeKeyAsTime":        {Sort: store.FieldCreatedAt, After: &store.Key{Value: now, ID: 1}},
		"TextKeyAsInt":         {Sort: store.FieldLogin, After: &store.Key{Value: int64(1), ID: 1}},
		"TextKeyNil":           {Sort: store.FieldLogin, After: &store.Key{ID: 1}},
		"TagDrivenKeyAsString": {Conds: cond(store.FieldTags, store.OpEq, "t"), After: &store.Key{Value: "1", ID: 1}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := buildUserQuery(q)
			require.Error(t, err, "built %q", b.sql)
			assert.ErrorIs(t, err, errQuery)
		})
	}
}

// TestBuildUserQueryKeepsValuesOut builds a query of hostile values on every field and checks
// that none reaches the SQL text.
func TestBuildUserQueryKeepsValuesOut(t *testing.T) {
	t.Parallel()
	hostile := `x'); DROP TABLE users; --"%_\`
	var conds []store.Cond
	for _, f := range fuzzFields {
		switch f {
		case store.FieldID, store.FieldCreatedAt, store.FieldUpdatedAt, store.FieldLastRequestAt:
			continue
		case store.FieldTags:
			conds = append(conds, store.Cond{Field: f, Op: store.OpIn, Values: []any{hostile, hostile + "2"}})
		default:
			conds = append(conds, store.Cond{Field: f, Op: store.OpNin, Values: []any{hostile}})
		}
	}
	conds = append(conds,
		store.Cond{Field: store.FieldFullName, Op: store.OpContains, Values: []any{hostile}},
		store.Cond{Field: store.FieldWebsite, Op: store.OpStartsWith, Values: []any{hostile}},
	)
	b, err := buildUserQuery(store.Query{Conds: conds, Limit: 10, TotalCap: 10})
	require.NoError(t, err)
	for _, text := range []string{b.sql, b.count} {
		assert.NotContains(t, text, "DROP")
		assert.NotContains(t, text, "x')")
	}
	assert.Equal(t, strings.Count(b.sql, "?"), len(b.args))
	assert.Equal(t, strings.Count(b.count, "?"), len(b.cargs))
}

// TestQueryUsersFullNameNUL: a full-name search whose text holds a NUL byte (valid UTF-8, so the
// engine passes it on) must be refused as an invalid query or find what it finds; it must not
// fail inside SQLite. FTS5 reads the MATCH text only up to the NUL, so the quoted phrase the
// builder makes loses its closing quote ("unterminated string").
func TestQueryUsersFullNameNUL(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "authcube.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for _, v := range []string{"abc\x00", "\x00abc", "ab\x00cd"} {
		_, _, err := s.QueryUsers(t.Context(), store.Query{
			Conds: []store.Cond{{Field: store.FieldFullName, Op: store.OpContains, Values: []any{v}}},
			Limit: 10,
		})
		if err != nil && !errors.Is(err, errQuery) {
			t.Errorf("full_name ctn %q: %v", v, err)
		}
	}
}

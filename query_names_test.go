package authcube

import (
	"context"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueryNamesAgreeWithStore checks that the field and operator names of UserQuery (the
// Field* and Op* constants of this package) and of store.Query (those of package store) are
// the same lists, name for name and value for value, and that fieldKinds types every field.
// normaliseCond passes names to the store as they are, so a name added or changed on one side
// only would be refused by the store at run time, or accepted here and never served.
func TestQueryNamesAgreeWithStore(t *testing.T) {
	t.Parallel()
	root := constsOf(t, "query.go")
	st := constsOf(t, filepath.Join("store", "store.go"))
	for _, prefix := range []string{"Field", "Op"} {
		assert.Equal(t, withPrefix(st, prefix), withPrefix(root, prefix), "%s* constants of authcube and of store", prefix)
		assert.NotEmpty(t, withPrefix(root, prefix))
	}
	var kinds, fields []string
	for f := range fieldKinds {
		kinds = append(kinds, string(f))
	}
	for _, v := range withPrefix(root, "Field") {
		fields = append(fields, v)
	}
	assert.ElementsMatch(t, fields, kinds, "fieldKinds lists every Field constant and nothing else")
}

// TestStoreServesEveryQueryName runs, on the engine's own SQLite store, a query sorted by every
// field, an Eq and a Ne condition on every field, and every operator once: a name the root
// accepts and the store does not know would fail here rather than in a caller's query.
func TestStoreServesEveryQueryName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := Open(ctx, Config{
		Dir: t.TempDir(), Hashing: HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	defer e.Close()
	app, err := e.CreateSession(ctx)
	require.NoError(t, err)

	sample := map[Field]any{
		FieldID: int64(1), FieldLogin: "marvin18", FieldEmail: "marvin@example.org", FieldFullName: "Marvin",
		FieldPhone: "+447911123456", FieldWebsite: "https://example.org", FieldExternalID: "3789",
		FieldTags: "apple", FieldCreatedAt: time.Unix(0, 0), FieldUpdatedAt: time.Unix(0, 0),
		FieldLastRequestAt: time.Unix(0, 0),
	}
	opOnce := map[Op]Cond{
		OpEq: {Field: FieldID, Values: []any{int64(1)}}, OpNe: {Field: FieldID, Values: []any{int64(1)}},
		OpLt: {Field: FieldID, Values: []any{int64(1)}}, OpLte: {Field: FieldID, Values: []any{int64(1)}},
		OpGt: {Field: FieldID, Values: []any{int64(1)}}, OpGte: {Field: FieldID, Values: []any{int64(1)}},
		OpIn: {Field: FieldID, Values: []any{int64(1), int64(2)}}, OpNin: {Field: FieldID, Values: []any{int64(1), int64(2)}},
		OpAll:      {Field: FieldTags, Values: []any{"apple", "pear"}},
		OpContains: {Field: FieldLogin, Values: []any{"arv"}}, OpStartsWith: {Field: FieldLogin, Values: []any{"mar"}},
	}
	var queries []UserQuery
	for _, name := range withPrefix(constsOf(t, "query.go"), "Field") {
		f := Field(name)
		require.Contains(t, sample, f, "a sample value for field %q", f)
		queries = append(queries,
			UserQuery{Sort: f},
			UserQuery{Where: []Cond{{Field: f, Op: OpEq, Values: []any{sample[f]}}}},
			UserQuery{Where: []Cond{{Field: f, Op: OpNe, Values: []any{sample[f]}}}})
	}
	for _, name := range withPrefix(constsOf(t, "query.go"), "Op") {
		op := Op(name)
		c, ok := opOnce[op]
		require.True(t, ok, "a condition for operator %q", op)
		c.Op = op
		queries = append(queries, UserQuery{Where: []Cond{c}})
	}
	for _, q := range queries {
		_, err := e.ListUsers(ctx, app.Token, q)
		assert.NoError(t, err, "%+v", q)
	}
}

// constsOf returns the string constants declared at the top level of the Go file: name → value.
func constsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	out := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				out[name.Name] = constant.StringVal(constant.MakeFromLiteral(lit.Value, lit.Kind, 0))
			}
		}
	}
	return out
}

// withPrefix keeps the exported names that start with prefix followed by an upper-case letter.
func withPrefix(consts map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for name, v := range consts {
		rest, ok := strings.CutPrefix(name, prefix)
		if ok && token.IsExported(rest) {
			out[name] = v
		}
	}
	return out
}

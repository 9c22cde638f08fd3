package authcube

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueryNamesAgreeWithStore checks that the field and operator names of UserQuery (the
// Field* and Op* constants of this package) and of store.Query (those of package store) are
// the same lists, name for name and value for value, and that fieldKinds types every field.
// normaliseCond passes names to the store as they are, so a name added or changed on one side
// only would be refused by the store at run time, or accepted here and never served.
func TestQueryNamesAgreeWithStore(t *testing.T) {
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

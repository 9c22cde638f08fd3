package rest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoAdminOverREST: the REST facade never reaches the engine's trusted handle (S44): no
// code of the package (tests aside) names Admin, AdminUser or the import and export types, so
// no route can call them, whatever its handler does.
func TestNoAdminOverREST(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	forbidden := map[string]bool{"Admin": true, "AdminUser": true, "UserRecord": true, "ImportOptions": true}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && forbidden[sel.Sel.Name] {
				t.Errorf("%s: the REST facade uses %s", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
	assert.Positive(t, checked)
}

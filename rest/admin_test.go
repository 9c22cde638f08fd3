package rest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
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

// TestDisabledUserOverREST: a disabled user's right password is 403, a wrong one the usual 401
// (S44).
func TestDisabledUserOverREST(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{}, authtest.WithUsers(authcube.NewUser{Login: "bob", Password: authtest.Password}))
	u, err := s.env.Engine.Admin().UserByLogin(t.Context(), "bob")
	require.NoError(t, err)
	require.NoError(t, s.env.Engine.Admin().DisableUser(t.Context(), u.ID))
	tok := s.appToken()

	r := s.do("POST", "/login.json", tok, map[string]any{"login": "bob", "password": "wrong password"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.JSONEq(t, `{"errors":{"base":["Unauthorized"]}}`, string(r.body))
	r = s.do("POST", "/login.json", tok, map[string]any{"login": "bob", "password": authtest.Password})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.JSONEq(t, `{"errors":{"base":["Forbidden: account disabled"]}}`, string(r.body))
}

package authcube_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
)

// Programs whose tokens ride in cookies or URLs sign in with CreateUserSession, which returns a
// fresh token, and destroy the token they held before: a token planted before sign-in then
// never acts for the user (session fixation, S17). SignIn, by contrast, keeps the token.
func ExampleEngine_CreateUserSession() {
	e, cleanup := openExample()
	defer cleanup()
	ctx := context.Background()
	app, _ := e.CreateSession(ctx)
	_, _ = e.SignUp(ctx, app.Token, authcube.NewUser{Login: "marvin18", Password: "supersecurepwd"})

	planted, _ := e.CreateSession(ctx) // a token an attacker may know
	s, err := e.CreateUserSession(ctx, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = e.DestroySession(ctx, planted.Token)
	fmt.Println("fresh token:", s.Token != planted.Token, "signed in:", s.IsUser())
	_, err = e.Session(ctx, planted.Token)
	fmt.Println("planted token:", errors.Is(err, authcube.ErrUnauthorized))

	// SignIn keeps the token it upgrades: fine for SDKs that hold tokens in client code.
	kept, _ := e.CreateSession(ctx)
	_, _ = e.SignIn(ctx, kept.Token, authcube.Credentials{Login: "marvin18", Password: "supersecurepwd"})
	again, _ := e.Session(ctx, kept.Token)
	fmt.Println("SignIn kept the token:", again.IsUser())
	// Output:
	// fresh token: true signed in: true
	// planted token: true
	// SignIn kept the token: true
}

// S17: the advice stays where programs find it: the package documentation, CreateUserSession's
// doc comment and the README name CreateUserSession for cookie and URL tokens.
func TestSessionFixationAdviceIsDocumented(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var files []*ast.File
	for _, ent := range entries {
		if name := ent.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			require.NoError(t, err)
			files = append(files, f)
		}
	}
	d, err := doc.NewFromFiles(fset, files, "github.com/authcube/authcube")
	require.NoError(t, err)
	for _, s := range []string{"cookie", "CreateUserSession", "fixation"} {
		assert.Contains(t, d.Doc, s, "the package documentation")
	}
	var create string
	for _, typ := range d.Types {
		for _, m := range typ.Methods {
			if typ.Name == "Engine" && m.Name == "CreateUserSession" {
				create = m.Doc
			}
		}
	}
	for _, s := range []string{"instead of SignIn", "cookies", "fixation"} {
		assert.Contains(t, create, s, "CreateUserSession's doc comment")
	}
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "## Sign-in keeps the token (S17)")
	require.True(t, ok, "the README's S17 section")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, s := range []string{"CreateUserSession", "DestroySession", "cookie", "fixation"} {
		assert.Contains(t, section, s, "the README's S17 section")
	}
}

package authcube_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"log/slog"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/identity/webhook"
	"github.com/authcube/authcube/smtpmail"
)

// S37: no type holding a secret shows it through fmt, slog (text and JSON handlers) or
// encoding/json, alone, by pointer, or nested in a struct, a map or a slice.
func TestSecretsNeverSerialiseS37(t *testing.T) {
	t.Parallel()
	const secret = "s37-SECRET"
	values := map[string]any{
		"Credentials": authcube.Credentials{Login: "ann", Email: "", Password: secret + "pw", Provider: "firebase_phone", Token: secret + "tok", DeviceToken: secret + "device"},
		"NewUser":     authcube.NewUser{Login: "ann", Email: "ann@example.org", Password: secret + "pw", FullName: "Ann"},
		"UserUpdate":  authcube.UserUpdate{FullName: new("Ann"), Password: new(secret + "new"), OldPassword: secret + "old"},
		"Session":     authcube.Session{ID: "id-1", UserID: 7, Token: secret + "session", DeviceToken: secret + "device"},
		"Message": authcube.Message{Kind: authcube.MessagePasswordReset, To: "ann@example.org", Subject: "Reset",
			Text: "Open https://app.example/reset?token=" + secret + "reset", Link: "https://app.example/reset?token=" + secret + "reset", Token: secret + "reset"},
		"smtpmail.Config": smtpmail.Config{Addr: "mail.example:587", Username: "ann", Password: secret + "smtp"},
		"webhook.Config": webhook.Config{URL: "https://idp.example/check?key=" + secret + "query",
			Header: http.Header{"X-Api-Key": {secret + "header"}}},
	}
	for name, v := range values {
		forms := []any{v, reflect.New(reflect.TypeOf(v)).Interface()}
		reflect.ValueOf(forms[1]).Elem().Set(reflect.ValueOf(v))
		forms = append(forms, struct{ Inner any }{v}, map[string]any{"v": v}, []any{v})
		for i, f := range forms {
			var out strings.Builder
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				fmt.Fprintf(&out, verb+"\n", f)
			}
			fmt.Fprintln(&out, f)
			var text, js bytes.Buffer
			slog.New(slog.NewTextHandler(&text, nil)).Info("value", "v", f)
			slog.New(slog.NewJSONHandler(&js, nil)).Info("value", "v", f)
			b, err := json.Marshal(f)
			if name == "smtpmail.Config" && err != nil {
				b = []byte(err.Error()) // its Now func does not marshal at all
			} else {
				require.NoError(t, err, "%s form %d marshals", name, i)
			}
			for what, s := range map[string]string{"fmt": out.String(), "slog text": text.String(), "slog JSON": js.String(), "encoding/json": string(b)} {
				assert.NotContains(t, s, secret, "%s (form %d) through %s: %s", name, i, what, s)
			}
		}
	}
	// What is not secret still marshals.
	b, err := json.Marshal(values["Credentials"])
	require.NoError(t, err)
	assert.JSONEq(t, `{"Login":"ann","Email":"","Provider":"firebase_phone","ClientAddr":""}`, string(b))
	b, err = json.Marshal(values["webhook.Config"])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"URL":"https://idp.example/check"`)
	assert.Contains(t, string(b), `"X-Api-Key":"REDACTED"`)
}

// S37: every field of an exported struct of the package whose name says it holds a secret (a
// password, a token, a secret, a link carrying a token) is left out of JSON, so a secret field
// added later cannot marshal by oversight. Only text fields count (PasswordMinLen is no secret).
func TestSecretFieldsAreNotJSON(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	secretName := regexp.MustCompile(`(?i)password|token|secret|^link$`)
	found := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !ts.Name.IsExported() {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if typ := types.ExprString(field.Type); typ != "string" && typ != "*string" && typ != "[]byte" {
					continue
				}
				for _, name := range field.Names {
					if !name.IsExported() || !secretName.MatchString(name.Name) {
						continue
					}
					found++
					tag := ""
					if field.Tag != nil {
						tag = reflect.StructTag(strings.Trim(field.Tag.Value, "`")).Get("json")
					}
					assert.Equal(t, "-", tag, "%s.%s holds a secret: tag it `json:\"-\"`", ts.Name.Name, name.Name)
				}
			}
			return true
		})
	}
	assert.GreaterOrEqual(t, found, 7, "the secret fields were seen")
}

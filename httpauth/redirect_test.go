package httpauth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/httpauth"
)

// LocalRedirect keeps paths on this site and turns everything else into "/" (open redirect).
func TestLocalRedirect(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/":                             "/",
		"/account":                      "/account",
		"/a/b?x=1&y=%2F#frag":           "/a/b?x=1&y=%2F#frag",
		"/files/a%20b":                  "/files/a%20b",
		"/a b":                          "/a%20b",
		"/%2F/evil.example":             "/%2F/evil.example", // a path on this site: the browser does not decode it
		"/%09/evil.example":             "/%09/evil.example",
		"":                              "/",
		"account":                       "/",
		"//evil.example":                "/",
		"///evil.example":               "/",
		"/\\evil.example":               "/",
		"\\\\evil.example":              "/",
		"/\t/evil.example/":             "/",
		"/\n/evil.example/":             "/",
		"/\r/evil.example":              "/",
		"/\x00/evil.example":            "/",
		"/\x7f/evil.example":            "/",
		"https://evil.example/":         "/",
		"javascript:alert(1)":           "/",
		" /evil":                        "/",
		"/" + strings.Repeat("a", 3000): "/",
	} {
		assert.Equal(t, want, httpauth.LocalRedirect(in), "%q", in)
	}
}

// Require puts only a local path in "next", even for a request whose path starts with "//"
// (a handler not behind a ServeMux, which would clean it).
func TestRequireNextIsLocal(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	auth, err := httpauth.New(env.Engine, httpauth.Config{Insecure: true})
	require.NoError(t, err)
	h := auth.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.Path = "//evil.example/x"
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, "/signin?next=%2F", w.Header().Get("Location"))
}

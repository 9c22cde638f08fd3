package app

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/httpauth"
)

// The JSON API: a token from POST /api/tokens, then Bearer requests; errors are problem+json.
func TestAPI(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann01", Password: authtest.Password}))
	h, err := New(env.Engine, httpauth.Config{})
	require.NoError(t, err)
	do := func(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	w := do("POST", "/api/tokens", `{"login":"ann01","password":"wrong password"}`)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, "application/problem+json", w.Header().Get("Content-Type"))

	w = do("POST", "/api/tokens", `{"login":"ann01","password":"`+authtest.Password+`"}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &tok))
	assert.Empty(t, w.Result().Cookies(), "an API sign-in sets no cookie")

	w = do("GET", "/api/me", "", "Authorization", "Bearer "+tok.Token)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"login":"ann01"`)
	assert.Equal(t, http.StatusUnauthorized, do("GET", "/api/me", "").Code)

	assert.Equal(t, http.StatusNoContent, do("DELETE", "/api/tokens", "", "Authorization", "Bearer "+tok.Token).Code)
	assert.Equal(t, http.StatusUnauthorized, do("GET", "/api/me", "", "Authorization", "Bearer "+tok.Token).Code)
}

// A sign-in link may only lead to a page of this site, also with bytes a browser drops (a
// tab in "/\t/evil.example/" makes it "//evil.example/"), through the form and the POST.
func TestSignInNextIsLocal(t *testing.T) {
	t.Parallel()
	env := authtest.New(t, authtest.WithUsers(authcube.NewUser{Login: "ann01", Password: authtest.Password}))
	h, err := New(env.Engine, httpauth.Config{Insecure: true})
	require.NoError(t, err)
	for next, want := range map[string]string{
		"/sessions?x=1": "/sessions?x=1", "": "/", "https://evil.example/": "/", "//evil.example/": "/",
		`/\evil.example`: "/", "sessions": "/", "/\t/evil.example/": "/", "/\n/evil.example/": "/",
		"/\r/evil.example": "/", "/%09/evil.example": "/%09/evil.example",
	} {
		r := httptest.NewRequest("GET", "/signin?next="+url.QueryEscape(next), nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `name="next" value="`+html.EscapeString(want)+`"`, "%q", next)

		form := url.Values{"login": {"ann01"}, "password": {authtest.Password}, "next": {next}}
		r = httptest.NewRequest("POST", "/signin", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusSeeOther, w.Code, "%q", next)
		assert.Equal(t, want, w.Header().Get("Location"), "%q", next)
	}
}

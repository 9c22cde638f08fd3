package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
)

const (
	authKey = "local-auth-key"
	// renewal is the exact body that makes the SDK renew its session.
	renewal = `{"errors":{"base":["Required session does not exist"]}}`
)

// tserver is a rest handler over an authtest engine, served on loopback by httptest.
type tserver struct {
	t   *testing.T
	env *authtest.Env
	srv *httptest.Server
}

// newServer starts a server; cfg gets AppID 1 and the test auth key unless set.
func newServer(t *testing.T, cfg rest.Config, opts ...authtest.Option) *tserver {
	t.Helper()
	env := authtest.New(t, opts...)
	if cfg.AuthKey == "" {
		cfg.AuthKey = authKey
	}
	h, err := rest.New(env.Engine, cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &tserver{t: t, env: env, srv: srv}
}

// resp is an answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object.
func (r resp) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body %q", r.body)
	return m
}

// errs returns errors.<field> of an error body.
func (r resp) errs(t *testing.T, field string) []any {
	t.Helper()
	e, ok := r.obj(t)["errors"].(map[string]any)
	require.True(t, ok, "body %s", r.body)
	v, _ := e[field].([]any)
	require.NotEmpty(t, v, "errors.%s in %s", field, r.body)
	return v
}

// do sends a request as the SDK does: a JSON body with "application/json;charset=utf-8", or a
// form Content-Type and no body; CB-Token when tok is set. body may be a string (sent as is).
// hdr holds extra header name/value pairs.
func (s *tserver) do(method, path, tok string, body any, hdr ...string) resp {
	s.t.Helper()
	var rd io.Reader
	ctype := "application/x-www-form-urlencoded; charset=UTF-8"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/json;charset=utf-8"
	default:
		j, err := json.Marshal(b)
		require.NoError(s.t, err)
		rd, ctype = bytes.NewReader(j), "application/json;charset=utf-8"
	}
	req, err := http.NewRequest(method, s.url(path), rd)
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("CB-SDK", "JS 6.1.2 - Client")
	if tok != "" {
		req.Header.Set("CB-Token", tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return s.send(req)
}

func (s *tserver) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return s.srv.URL + path
}

func (s *tserver) send(req *http.Request) resp {
	s.t.Helper()
	res, err := s.srv.Client().Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// appBody is the body of createSession() for app id 1.
func appBody(extra map[string]any) map[string]any {
	m := map[string]any{"application_id": 1, "auth_key": authKey}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// session creates a session through the API and returns its token and user id.
func (s *tserver) session(extra map[string]any) (string, int64) {
	s.t.Helper()
	r := s.do("POST", "/session.json", "", appBody(extra))
	require.Equal(s.t, http.StatusCreated, r.status, "%s", r.body)
	sess := r.obj(s.t)["session"].(map[string]any)
	return sess["token"].(string), int64(sess["user_id"].(float64))
}

// appToken is a new application session.
func (s *tserver) appToken() string {
	tok, _ := s.session(nil)
	return tok
}

// signedIn signs login up (with authtest.Password) if needed and returns a user session made
// through the API, and the user id.
func (s *tserver) signedIn(login string) (string, int64) {
	s.t.Helper()
	s.env.SignedIn(s.t, login)
	return s.session(map[string]any{"user": map[string]any{"login": login, "password": authtest.Password}})
}

// user returns the "user" object of a body.
func user(t *testing.T, r resp) map[string]any {
	t.Helper()
	u, ok := r.obj(t)["user"].(map[string]any)
	require.True(t, ok, "body %s", r.body)
	return u
}

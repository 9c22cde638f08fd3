package rest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/firebase/firebasetest"
	"github.com/authcube/authcube/rest"
)

func TestApplicationSession(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	r := s.do("POST", "/session.json", "", appBody(nil))
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	assert.Equal(t, "application/json; charset=utf-8", r.header.Get("Content-Type"))
	sess := r.obj(t)["session"].(map[string]any)
	assert.NotEmpty(t, sess["token"])
	assert.EqualValues(t, 0, sess["user_id"])
	assert.EqualValues(t, 1, sess["application_id"])
	assert.NotEmpty(t, sess["_id"])
	assert.Greater(t, sess["id"].(float64), 0.0)
	assert.Equal(t, authtest.Start.Format("2006-01-02T15:04:05Z"), sess["created_at"])
	assert.EqualValues(t, authtest.Start.Unix(), sess["ts"])

	t.Run("application_id as a string, stale CB-Token ignored", func(t *testing.T) {
		r := s.do("POST", "/session.json", "stale-token-from-before", map[string]any{"application_id": "1", "auth_key": authKey})
		assert.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	})
	t.Run("legacy signature fields ignored, nonce echoed", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"nonce": 42, "timestamp": 1700000000, "signature": "51349786"}))
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		assert.EqualValues(t, 42, r.obj(t)["session"].(map[string]any)["nonce"])
	})
	for name, body := range map[string]map[string]any{
		"wrong auth key":   {"application_id": 1, "auth_key": "nope"},
		"wrong app id":     {"application_id": 2, "auth_key": authKey},
		"missing auth key": {"application_id": 1},
	} {
		t.Run(name, func(t *testing.T) {
			r := s.do("POST", "/session.json", "", body)
			assert.Equal(t, http.StatusUnauthorized, r.status)
			assert.NotEqual(t, renewal, string(r.body))
			r.errs(t, "base")
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", "{nope")
		assert.Equal(t, http.StatusBadRequest, r.status)
		r.errs(t, "base")
	})
}

func TestUserSessionByLoginAndEmail(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{}, authtest.WithUsers(authcube.NewUser{Login: "bob", Email: "bob@example.com", Password: authtest.Password}))
	for name, u := range map[string]map[string]any{
		"login": {"login": "bob", "password": authtest.Password},
		"email": {"email": "Bob@Example.com", "password": authtest.Password},
	} {
		t.Run(name, func(t *testing.T) {
			tok, uid := s.session(map[string]any{"user": u})
			assert.NotZero(t, uid)
			r := s.do("GET", "/session.json", tok, nil)
			require.Equal(t, http.StatusOK, r.status)
			sess := r.obj(t)["session"].(map[string]any)
			assert.EqualValues(t, uid, sess["user_id"])
			assert.Equal(t, tok, sess["token"])
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"user": map[string]any{"login": "bob", "password": "wrong password"}}))
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.JSONEq(t, `{"errors":{"base":["Unauthorized"]}}`, string(r.body))
	})
	t.Run("unknown login, same answer", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"user": map[string]any{"login": "nobody", "password": "wrong password"}}))
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.JSONEq(t, `{"errors":{"base":["Unauthorized"]}}`, string(r.body))
	})
	t.Run("guest refused", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"user": map[string]any{"guest": "1", "full_name": "Guest X"}}))
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		assert.Contains(t, r.errs(t, "base")[0], "guest sessions are not supported")
	})
	t.Run("password is never echoed", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"user": map[string]any{"login": "bob", "password": "secret-guess-123"}}))
		assert.NotContains(t, string(r.body), "secret-guess-123")
	})
}

func TestThrottledSignIn(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{}, authtest.WithUsers(authcube.NewUser{Login: "bob", Password: authtest.Password}))
	var last resp
	for range 8 {
		last = s.do("POST", "/session.json", "", appBody(map[string]any{"user": map[string]any{"login": "bob", "password": "wrong password"}}))
		if last.status == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusUnauthorized, last.status)
	}
	require.Equal(t, http.StatusTooManyRequests, last.status, "%s", last.body)
	secs, err := strconv.Atoi(last.header.Get("Retry-After"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, secs, 1)
	last.errs(t, "base")
}

func TestGetAndDestroySession(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok := s.appToken()
	r := s.do("GET", "/session.json", tok, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, tok, r.obj(t)["session"].(map[string]any)["token"])

	r = s.do("DELETE", "/session.json", tok, nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Empty(t, r.body)

	for _, path := range []string{"/session.json", "/users/1.json"} {
		r = s.do("GET", path, tok, nil)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, renewal, string(r.body))
	}
	r = s.do("DELETE", "/session.json", tok, nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, renewal, string(r.body))
}

func TestExpiredSessionGetsTheRenewalBody(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok, id := s.signedIn("ann")
	require.Equal(t, http.StatusOK, s.do("GET", "/users/"+strconv.FormatInt(id, 10)+".json", tok, nil).status)
	s.env.Clock.Advance(authcube.DefaultSessionIdleTTL + time.Second)
	for _, c := range []struct{ method, path string }{
		{"GET", "/users/1.json"}, {"GET", "/users/v2.json"}, {"GET", "/users.json"}, {"PUT", "/users/1.json"},
		{"DELETE", "/users/1.json"}, {"GET", "/users/by_login.json?login=ann"}, {"GET", "/blobs.json"},
		{"POST", "/blobs.json"}, {"POST", "/login.json"}, {"DELETE", "/login.json"}, {"GET", "/session.json"},
	} {
		r := s.do(c.method, c.path, tok, nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, "%s %s", c.method, c.path)
		assert.Equal(t, renewal, string(r.body), "%s %s", c.method, c.path)
	}
	// No token at all: the same body.
	r := s.do("GET", "/users/1.json", "", nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, renewal, string(r.body))
}

func TestLoginAndLogout(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{}, authtest.WithUsers(authcube.NewUser{Login: "bob", Email: "bob@example.com", Password: authtest.Password}))
	tok := s.appToken()

	r := s.do("POST", "/login.json", tok, map[string]any{"login": "bob", "password": "wrong password"})
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.JSONEq(t, `{"errors":{"base":["Unauthorized"]}}`, string(r.body))

	r = s.do("POST", "/login.json", tok, map[string]any{"email": "bob@example.com", "password": authtest.Password})
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	u := user(t, r)
	assert.Equal(t, "bob", u["login"])
	assert.Equal(t, "bob@example.com", u["email"], "the user sees its own email")
	sess := s.do("GET", "/session.json", tok, nil).obj(t)["session"].(map[string]any)
	assert.Equal(t, u["id"], sess["user_id"])

	r = s.do("DELETE", "/login.json", tok, nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Empty(t, r.body)
	sess = s.do("GET", "/session.json", tok, nil).obj(t)["session"].(map[string]any)
	assert.EqualValues(t, 0, sess["user_id"])

	r = s.do("POST", "/login.json", tok, map[string]any{"guest": "1"})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
}

func TestFirebaseSessions(t *testing.T) {
	t.Parallel()
	issuer := firebasetest.NewIssuer("proj")
	s := newServer(t, rest.Config{}, authtest.WithConfig(func(c *authcube.Config) {
		c.Providers = map[string]identity.TokenVerifier{"firebase_phone": issuer.Verifier(), "firebase_email": issuer.Verifier()}
	}))

	phone := map[string]any{"provider": "firebase_phone", "firebase_phone": map[string]any{
		"project_id": "proj", "access_token": issuer.PhoneToken("fb-uid-1", "+14155550100"),
	}}
	tok, uid := s.session(phone)
	require.NotZero(t, uid)
	r := s.do("GET", "/users/"+strconv.FormatInt(uid, 10)+".json", tok, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "+14155550100", user(t, r)["phone"])

	// The same Firebase user again: the same local user.
	_, again := s.session(phone)
	assert.Equal(t, uid, again)

	t.Run("email", func(t *testing.T) {
		_, id := s.session(map[string]any{"provider": "firebase_email", "firebase_email": map[string]any{
			"project_id": "proj", "access_token": issuer.EmailToken("fb-uid-2", "eve@example.com"),
		}})
		assert.NotZero(t, id)
		assert.NotEqual(t, uid, id)
	})
	t.Run("login.json with a provider", func(t *testing.T) {
		app := s.appToken()
		r := s.do("POST", "/login.json", app, phone)
		require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
		assert.EqualValues(t, uid, user(t, r)["id"])
	})
	t.Run("bad token", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"provider": "firebase_phone",
			"firebase_phone": map[string]any{"project_id": "proj", "access_token": "not.a.token"}}))
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.JSONEq(t, `{"errors":{"base":["Unauthorized"]}}`, string(r.body))
	})
	t.Run("token of another project", func(t *testing.T) {
		other := firebasetest.NewIssuer("other")
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"provider": "firebase_phone",
			"firebase_phone": map[string]any{"project_id": "other", "access_token": other.PhoneToken("x", "+14155550101")}}))
		assert.Equal(t, http.StatusUnauthorized, r.status)
	})
	t.Run("missing access token", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"provider": "firebase_phone", "firebase_phone": map[string]any{"project_id": "proj"}}))
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		r.errs(t, "firebase_phone")
	})
	t.Run("unconfigured provider", func(t *testing.T) {
		r := s.do("POST", "/session.json", "", appBody(map[string]any{"provider": "facebook", "keys": map[string]any{"token": "fb"}}))
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		r.errs(t, "provider")
	})
}

func TestNewChecksItsConfig(t *testing.T) {
	t.Parallel()
	env := authtest.New(t)
	_, err := rest.New(env.Engine, rest.Config{})
	assert.ErrorContains(t, err, "AuthKey")
	_, err = rest.New(env.Engine, rest.Config{AppID: 7, AuthKey: "k"})
	assert.ErrorContains(t, err, "AppID")
	_, err = rest.New(nil, rest.Config{AuthKey: "k"})
	assert.Error(t, err)
	_, err = rest.New(env.Engine, rest.Config{AuthKey: "k"})
	assert.NoError(t, err, "AppID 0 means 1")
}

func TestClosedEngine(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok := s.appToken()
	require.NoError(t, s.env.Engine.Close())
	r := s.do("GET", "/session.json", tok, nil)
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	r.errs(t, "base")
}

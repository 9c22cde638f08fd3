package rest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
)

func TestSignUp(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	body := map[string]any{"user": map[string]any{
		"login": "marvin18", "password": "supersecurepwd", "email": "marvin@example.com", "full_name": "Marvin Simon",
		"phone": "47802323143", "website": "https://example.com", "tag_list": []string{"iphone", "apple"},
		"custom_data": `{"age":42}`, "external_user_id": 777, "facebook_id": "ignored", "timezone": 3,
	}}

	t.Run("with CB-AuthKey and no session", func(t *testing.T) {
		r := s.do("POST", "/users.json", "", body, "CB-AuthKey", authKey)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		u := user(t, r)
		assert.Equal(t, "marvin18", u["login"])
		assert.Equal(t, "marvin@example.com", u["email"])
		assert.Equal(t, "47802323143", u["phone"])
		assert.Equal(t, "Marvin Simon", u["full_name"])
		assert.Equal(t, "https://example.com", u["website"])
		assert.Equal(t, "iphone,apple", u["user_tags"])
		assert.Equal(t, `{"age":42}`, u["custom_data"])
		assert.EqualValues(t, 777, u["external_user_id"])
		assert.Equal(t, "777", u["external_id"])
		assert.Nil(t, u["facebook_id"])
		assert.Nil(t, u["avatar"])
		assert.Equal(t, authtest.Start.Format("2006-01-02T15:04:05Z"), u["created_at"])
		assert.NotContains(t, string(r.body), "supersecurepwd")
		assert.NotContains(t, u, "password")
	})
	t.Run("taken login", func(t *testing.T) {
		r := s.do("POST", "/users.json", "", body, "CB-AuthKey", authKey)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		assert.JSONEq(t, `{"errors":{"login":["has already been taken"]}}`, string(r.body))
	})
	t.Run("with a session, tags as a comma string", func(t *testing.T) {
		r := s.do("POST", "/users.json", s.appToken(), map[string]any{"user": map[string]any{
			"email": "zed@example.com", "password": "supersecurepwd", "tag_list": "a, b",
		}})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		assert.Equal(t, "a,b", user(t, r)["user_tags"])
		assert.Nil(t, user(t, r)["login"])
	})
	t.Run("invalid field", func(t *testing.T) {
		r := s.do("POST", "/users.json", s.appToken(), map[string]any{"user": map[string]any{"login": "x!", "password": "supersecurepwd"}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		r.errs(t, "login")
		r = s.do("POST", "/users.json", s.appToken(), map[string]any{"user": map[string]any{"login": "okname"}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		r.errs(t, "password")
	})
	t.Run("wrong CB-AuthKey", func(t *testing.T) {
		r := s.do("POST", "/users.json", "", body, "CB-AuthKey", "wrong")
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.NotEqual(t, renewal, string(r.body))
	})
	t.Run("no session, no key", func(t *testing.T) {
		r := s.do("POST", "/users.json", "", body)
		assert.Equal(t, http.StatusUnauthorized, r.status)
		assert.Equal(t, renewal, string(r.body))
	})
	t.Run("the transient session is gone", func(t *testing.T) {
		// Only the sessions the test made exist: the one made for the sign-up was destroyed.
		tok, _ := s.session(map[string]any{"user": map[string]any{"login": "marvin18", "password": "supersecurepwd"}})
		list, err := s.env.Engine.Sessions(t.Context(), tok)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok, id := s.signedIn("ann")
	path := fmt.Sprintf("/users/%d.json", id)

	r := s.do("PUT", path, tok, map[string]any{"user": map[string]any{"full_name": "Ann Smith", "tag_list": []string{"x"}, "website": nil}})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, "Ann Smith", user(t, r)["full_name"])
	assert.Equal(t, "x", user(t, r)["user_tags"])

	t.Run("lenient PUT /users.json", func(t *testing.T) {
		r := s.do("PUT", "/users.json", tok, map[string]any{"user": map[string]any{"phone": "+4427123314", "custom_data": map[string]any{"k": 1}}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, "+4427123314", user(t, r)["phone"])
		assert.Equal(t, `{"k":1}`, user(t, r)["custom_data"])
	})
	t.Run("password without old_password", func(t *testing.T) {
		r := s.do("PUT", path, tok, map[string]any{"user": map[string]any{"password": "a new password"}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		r.errs(t, "old_password")
	})
	t.Run("wrong old_password", func(t *testing.T) {
		r := s.do("PUT", path, tok, map[string]any{"user": map[string]any{"password": "a new password", "old_password": "wrong password"}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		assert.JSONEq(t, `{"errors":{"old_password":["is incorrect"]}}`, string(r.body))
	})
	t.Run("password change", func(t *testing.T) {
		r := s.do("PUT", path, tok, map[string]any{"user": map[string]any{"password": "a new password", "old_password": authtest.Password}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.NotContains(t, string(r.body), "a new password")
		_, uid := s.session(map[string]any{"user": map[string]any{"login": "ann", "password": "a new password"}})
		assert.Equal(t, id, uid)
	})
	t.Run("another user's id", func(t *testing.T) {
		other, _ := s.signedIn("bob")
		r := s.do("PUT", path, other, map[string]any{"user": map[string]any{"full_name": "Hacked"}})
		assert.Equal(t, http.StatusForbidden, r.status)
		r.errs(t, "base")
		r = s.do("DELETE", path, other, nil)
		assert.Equal(t, http.StatusForbidden, r.status)
	})
	t.Run("application session", func(t *testing.T) {
		r := s.do("PUT", path, s.appToken(), map[string]any{"user": map[string]any{"full_name": "Hacked"}})
		assert.Equal(t, http.StatusForbidden, r.status)
		r.errs(t, "base")
	})
	t.Run("taken email", func(t *testing.T) {
		s.env.SignedIn(t, "carl")
		ctok, _ := s.signedIn("carl")
		require.Equal(t, http.StatusOK, s.do("PUT", "/users.json", ctok, map[string]any{"user": map[string]any{"email": "carl@example.com"}}).status)
		r := s.do("PUT", path, tok, map[string]any{"user": map[string]any{"email": "CARL@example.com"}})
		assert.Equal(t, http.StatusUnprocessableEntity, r.status)
		assert.JSONEq(t, `{"errors":{"email":["has already been taken"]}}`, string(r.body))
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	tok, id := s.signedIn("ann")
	app := s.appToken()
	r := s.do("DELETE", "/users.json", app, nil)
	assert.Equal(t, http.StatusForbidden, r.status)

	r = s.do("DELETE", fmt.Sprintf("/users/%d.json", id), tok, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Empty(t, r.body)
	assert.Equal(t, renewal, string(s.do("GET", "/session.json", tok, nil).body))
	r = s.do("GET", fmt.Sprintf("/users/%d.json", id), app, nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	r.errs(t, "base")
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{}, authtest.WithUsers(authcube.NewUser{Login: "ann", Email: "ann@example.com", Password: authtest.Password}))
	app := s.appToken()
	r := s.do("POST", "/users/password/reset.json", app, map[string]any{"email": "ann@example.com"})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Empty(t, r.body)
	msg, ok := s.env.Mailbox.Last()
	require.True(t, ok)
	assert.Equal(t, authcube.MessagePasswordReset, msg.Kind)
	assert.Equal(t, "ann@example.com", msg.To)
	require.NotEmpty(t, s.env.Mailbox.LastResetToken())

	r = s.do("GET", "/users/password/reset.json?email=ann%40example.com", app, nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Len(t, s.env.Mailbox.Messages(), 2)

	r = s.do("POST", "/users/password/reset.json", app, map[string]any{"email": "nobody@example.com"})
	assert.Equal(t, http.StatusOK, r.status, "the same answer for unknown addresses")
	r = s.do("POST", "/users/password/reset.json", app, map[string]any{"email": "not an address"})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	r.errs(t, "email")
	r = s.do("POST", "/users/password/reset.json", "", map[string]any{"email": "ann@example.com"})
	assert.Equal(t, renewal, string(r.body))
}

// seeded is a server with users to look up.
func seeded(t *testing.T, cfg rest.Config) *tserver {
	return newServer(t, cfg, authtest.WithUsers(
		authcube.NewUser{Login: "ann", Email: "ann@example.com", Password: authtest.Password, FullName: "Ann Smith",
			Phone: "+4427123314", ExternalID: "101", Tags: []string{"apple", "red"}},
		authcube.NewUser{Login: "bob", Email: "bob@example.com", Password: authtest.Password, FullName: "Bob Smith",
			Phone: "47802323143", Tags: []string{"pear"}},
		authcube.NewUser{Login: "cat", Email: "cat@example.com", Password: authtest.Password, FullName: "Cat Jones",
			Tags: []string{"apple"}, Website: "https://cat.example"},
	))
}

// logins returns the logins of the items of a list; wrapped items are {"user": {...}}.
func logins(t *testing.T, r resp, wrapped bool) []string {
	t.Helper()
	items, ok := r.obj(t)["items"].([]any)
	require.True(t, ok, "%s", r.body)
	out := []string{}
	for _, it := range items {
		u := it.(map[string]any)
		if wrapped {
			u = u["user"].(map[string]any)
		}
		out = append(out, u["login"].(string))
	}
	return out
}

func TestLookUps(t *testing.T) {
	t.Parallel()
	s := seeded(t, rest.Config{})
	app := s.appToken()
	one := func(path string) map[string]any {
		t.Helper()
		r := s.do("GET", path, app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		return user(t, r)
	}
	assert.Equal(t, "ann", one("/users/1.json")["login"])
	assert.Equal(t, "bob", one("/users/by_login.json?login=BOB")["login"])
	assert.Equal(t, "cat", one("/users/by_email.json?email=cat%40example.com")["login"])
	assert.Equal(t, "ann", one("/users/external/101.json")["login"])

	list := func(path string, want ...string) resp {
		t.Helper()
		r := s.do("GET", path, app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		assert.Equal(t, want, logins(t, r, true), path)
		return r
	}
	r := list("/users/by_full_name.json?full_name=smith&page=1&per_page=10", "ann", "bob")
	m := r.obj(t)
	assert.EqualValues(t, 1, m["current_page"])
	assert.EqualValues(t, 10, m["per_page"])
	assert.EqualValues(t, 2, m["total_entries"])
	list("/users/by_full_name.json?full_name=smith&page=2&per_page=1", "bob")
	list("/users/by_tags.json?page=1&per_page=10&tags[]=apple", "ann", "cat")
	list("/users/by_tags.json?tags[]=pear&tags[]=red", "ann", "bob")
	list("/users/by_tags.json?tags=pear%2Cred", "ann", "bob")
	list("/users/phone.json?phone=4427123314", "ann")

	for _, c := range []struct {
		path   string
		status int
		field  string
	}{
		{"/users/99.json", http.StatusNotFound, "base"},
		{"/users/by_login.json?login=nobody", http.StatusNotFound, "base"},
		{"/users/by_email.json?email=nobody%40example.com", http.StatusNotFound, "base"},
		{"/users/external/999.json", http.StatusNotFound, "base"},
		{"/users/by_facebook_id.json?facebook_id=123", http.StatusNotFound, "base"},
		{"/users/by_twitter_id.json?twitter_id=123", http.StatusNotFound, "base"},
		{"/users/by_full_name.json?full_name=ab", http.StatusUnprocessableEntity, "full_name"},
		{"/users/phone.json", http.StatusUnprocessableEntity, "phone"},
		{"/users/by_full_name.json?full_name=smith&per_page=x", http.StatusUnprocessableEntity, "per_page"},
	} {
		r := s.do("GET", c.path, app, nil)
		assert.Equal(t, c.status, r.status, "%s: %s", c.path, r.body)
		r.errs(t, c.field)
	}

	t.Run("online", func(t *testing.T) {
		r := s.do("GET", "/users/online.json?limit=10&offset=0", app, nil)
		require.Equal(t, http.StatusOK, r.status)
		assert.JSONEq(t, `{"users":[]}`, string(r.body))
		r = s.do("GET", "/users/online.json?count=true", app, nil)
		assert.JSONEq(t, `{"count":0}`, string(r.body))
		assert.Equal(t, renewal, string(s.do("GET", "/users/online.json", "", nil).body))
	})
}

func TestHiddenEmailAndPhone(t *testing.T) {
	t.Parallel()
	s := seeded(t, rest.Config{})
	app := s.appToken()
	r := s.do("GET", "/users/1.json", app, nil)
	require.Equal(t, http.StatusOK, r.status)
	u := user(t, r)
	assert.NotContains(t, u, "email")
	assert.NotContains(t, u, "phone")
	assert.Equal(t, "ann", u["login"])

	// Lists too.
	r = s.do("GET", "/users/v2.json", app, nil)
	assert.NotContains(t, string(r.body), "@example.com")
	r = s.do("GET", "/users.json", app, nil)
	assert.NotContains(t, string(r.body), "@example.com")

	// The user's own session sees its own email and phone, not others'.
	tok, _ := s.session(map[string]any{"user": map[string]any{"login": "ann", "password": authtest.Password}})
	assert.Equal(t, "ann@example.com", user(t, s.do("GET", "/users/1.json", tok, nil))["email"])
	assert.Equal(t, "+4427123314", user(t, s.do("GET", "/users/1.json", tok, nil))["phone"])
	assert.NotContains(t, user(t, s.do("GET", "/users/2.json", tok, nil)), "email")

	// Look-ups of one exact value stay; lists, negations, substring, range and sort queries
	// are refused (S31).
	for path, want := range map[string]string{
		"/users/by_email.json?email=bob%40example.com":          "bob",
		"/users/v2.json?email=bob%40example.com":                "bob",
		"/users/v2.json?email[eq]=BOB%40example.com":            "bob",
		"/users/v2.json?phone[in]=4427123314":                   "ann",
		"/users/v2.json?phone[]=%2B4427123314":                  "ann",
		"/users.json?filter[]=string%20phone%20eq%204427123314": "ann",
		"/users.json?filter[]=string%20phone%20in%204427123314": "ann",
		"/users/phone.json?phone=%2B47802323143":                "bob",
	} {
		r := s.do("GET", path, app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		assert.Contains(t, string(r.body), `"login":"`+want+`"`, path)
	}
	for path, field := range map[string]string{
		"/users/v2.json?email[ctn]=example":                            "email",
		"/users/v2.json?email[start_with]=a":                           "email",
		"/users/v2.json?email[gt]=a":                                   "email",
		"/users/v2.json?phone[lt]=5":                                   "phone",
		"/users/v2.json?phone[ne]=4427123314":                          "phone",
		"/users/v2.json?phone[nin]=4427123314":                         "phone",
		"/users/v2.json?email[in]=ann%40example.com,bob%40example.com": "email",
		"/users/v2.json?phone[in][]=4427123314&phone[in][]=1":          "phone",
		"/users/v2.json?phone[]=4427123314&phone[]=1":                  "phone",
		"/users/v2.json?phone=":                                        "phone",
		"/users/v2.json?sort_asc=email":                                "sort_asc",
		"/users/v2.json?sort_desc=phone":                               "sort_desc",
		"/users.json?filter[]=string%20email%20gt%20a":                 "email",
		"/users.json?filter[]=string%20phone%20between%201,9":          "phone",
		"/users.json?filter[]=string%20phone%20in%201,4427123314":      "phone",
		"/users.json?filter[]=string%20email%20nin%20a%40b.c":          "email",
		"/users.json?order=asc%20string%20email":                       "order",
		"/users/phone.json?phone=%2B4427123314%2C%2B47802323143":       "phone",
		"/users/phone.json?phone[]=4427123314&phone[]=47802323143":     "phone",
	} {
		r := s.do("GET", path, app, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", path, r.body)
		r.errs(t, field)
	}

	t.Run("FullUserData", func(t *testing.T) {
		s := seeded(t, rest.Config{FullUserData: true})
		app := s.appToken()
		u := user(t, s.do("GET", "/users/1.json", app, nil))
		assert.Equal(t, "ann@example.com", u["email"])
		assert.Equal(t, "+4427123314", u["phone"])
		r := s.do("GET", "/users/v2.json?sort_desc=email", app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, []string{"cat", "bob", "ann"}, logins(t, r, false))
		r = s.do("GET", "/users/v2.json?email[gt]=b", app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, []string{"bob", "cat"}, logins(t, r, false))
		r = s.do("GET", "/users/phone.json?phone=%2B4427123314%2C%2B47802323143", app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, []string{"ann", "bob"}, logins(t, r, true))
		r = s.do("GET", "/users/v2.json?phone[nin]=4427123314", app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		assert.Equal(t, []string{"bob", "cat"}, logins(t, r, false))
	})
}

func TestUsersV2(t *testing.T) {
	t.Parallel()
	s := seeded(t, rest.Config{})
	app := s.appToken()
	s.env.Clock.Advance(time.Minute)
	s.env.SignedIn(t, "dan") // created later
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"ann", "bob", "cat", "dan"}},
		{"login=bob", []string{"bob"}},
		{"login[in]=ann,cat", []string{"ann", "cat"}},
		{"login[in][]=ann&login[in][]=cat", []string{"ann", "cat"}},
		{"id[]=1&id[]=3", []string{"ann", "cat"}},
		{"id[nin]=1%2C3", []string{"bob", "dan"}},
		{"id[gte]=2&id[lt]=4", []string{"bob", "cat"}},
		{"login[ne]=ann", []string{"bob", "cat", "dan"}},
		{"full_name[start_with]=Bo", []string{"bob"}},
		{"full_name[ctn]=smi", []string{"ann", "bob"}},
		{"user_tags[all][]=apple&user_tags[all][]=red", []string{"ann"}},
		{"user_tags[in]=pear,red", []string{"ann", "bob"}},
		{"user_tags=apple", []string{"ann", "cat"}},
		{"user_tags[or]=pear,red", []string{"ann", "bob"}},
		{fmt.Sprintf("created_at[gt]=%d", authtest.Start.Unix()+10), []string{"dan"}},
		{"created_at[lte]=" + authtest.Start.Format("2006-01-02T15:04:05Z"), []string{"ann", "bob", "cat"}},
		{"sort_desc=id&limit=2", []string{"dan", "cat"}},
		{"sort_asc=login&limit=2&offset=1", []string{"bob", "cat"}},
		{"sort_desc=created_at&limit=1", []string{"dan"}},
		{"website[ctn]=cat", []string{"cat"}},
		{"external_user_id=101", []string{"ann"}},
	}
	for _, c := range cases {
		r := s.do("GET", "/users/v2.json?"+c.query, app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", c.query, r.body)
		assert.Equal(t, c.want, logins(t, r, false), c.query)
	}
	r := s.do("GET", "/users/v2.json?limit=3&offset=1&sort_asc=id", app, nil)
	m := r.obj(t)
	assert.EqualValues(t, 3, m["limit"])
	assert.EqualValues(t, 1, m["skip"])
	assert.EqualValues(t, 4, m["total_entries"])
	assert.Len(t, m["items"], 3)
	_, wrapped := m["items"].([]any)[0].(map[string]any)["user"]
	assert.False(t, wrapped, "v2 items are flat")
	assert.EqualValues(t, 100, s.do("GET", "/users/v2.json", app, nil).obj(t)["limit"])

	for q, field := range map[string]string{
		"facebook_id=1":            "facebook_id",
		"login[like]=a":            "login",
		"id=abc":                   "id",
		"created_at[gt]=yesterday": "created_at",
		"sort_asc=password":        "password",
		"limit=-1":                 "limit",
		"login[ctn][x]=1":          "login",
		"full_name[ctn]=ab":        "full_name",
	} {
		r := s.do("GET", "/users/v2.json?"+q, app, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", q, r.body)
		r.errs(t, field)
	}
}

func TestLegacyUserList(t *testing.T) {
	t.Parallel()
	s := seeded(t, rest.Config{})
	app := s.appToken()
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"ann", "bob", "cat"}},
		{"filter[]=number%20id%20in%201%2C3&page=1&per_page=10", []string{"ann", "cat"}},
		{"filter[]=number%20id%20gt%201&filter[]=string%20login%20ne%20cat", []string{"bob"}},
		{"filter[]=string%20full_name%20eq%20Bob%20Smith", []string{"bob"}},
		{"filter[]=number%20id%20between%202%2C3", []string{"bob", "cat"}},
		{"filter[]=number%20id%20ge%202&filter[]=number%20id%20le%202", []string{"bob"}},
		{fmt.Sprintf("filter[]=date%%20created_at%%20ge%%20%d", authtest.Start.Unix()), []string{"ann", "bob", "cat"}},
		{"order=desc%20string%20id", []string{"cat", "bob", "ann"}},
		{"order=asc%20string%20login&page=2&per_page=2", []string{"cat"}},
		{"filter[]=string%20user_tags%20in%20apple", []string{"ann", "cat"}},
	}
	for _, c := range cases {
		r := s.do("GET", "/users.json?"+c.query, app, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", c.query, r.body)
		assert.Equal(t, c.want, logins(t, r, true), c.query)
	}
	m := s.do("GET", "/users.json?order=asc%20string%20login&page=2&per_page=2", app, nil).obj(t)
	assert.EqualValues(t, 2, m["current_page"])
	assert.EqualValues(t, 2, m["per_page"])
	assert.EqualValues(t, 3, m["total_entries"])

	for q, field := range map[string]string{
		"filter[]=number%20id":                  "filter",
		"filter[]=number%20id%20like%201":       "id",
		"filter[]=string%20twitter_id%20eq%201": "twitter_id",
		"filter[]=number%20id%20between%201":    "id",
		"order=sideways%20id":                   "order",
		"page=-1":                               "page",
	} {
		r := s.do("GET", "/users.json?"+q, app, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", q, r.body)
		r.errs(t, field)
	}
}

// The engine names the tags user_tags in every error; a user write's body calls them tag_list,
// and so does the error it gets back.
func TestTagErrorsNameTheBodyField(t *testing.T) {
	t.Parallel()
	s := newServer(t, rest.Config{})
	r := s.do("POST", "/users.json", s.appToken(), map[string]any{"user": map[string]any{
		"login": "zed", "password": "supersecurepwd", "tag_list": []string{"ok", strings.Repeat("x", 65)},
	}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	assert.JSONEq(t, `{"errors":{"tag_list":["tag 2: must be 1 to 64 characters"]}}`, string(r.body))

	tok, id := s.signedIn("ann")
	r = s.do("PUT", fmt.Sprintf("/users/%d.json", id), tok, map[string]any{"user": map[string]any{"tag_list": []string{strings.Repeat("x", 65)}}})
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	assert.JSONEq(t, `{"errors":{"tag_list":["tag 1: must be 1 to 64 characters"]}}`, string(r.body))
}

package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube"
	"github.com/authcube/authcube/authtest"
	"github.com/authcube/authcube/rest"
	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
)

// phoneList returns n distinct phones, with ann's (+4427123314) at position n/2.
func phoneList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1555%07d", i)
	}
	out[n/2] = "+4427123314"
	return out
}

// TestHiddenPhonesAreNotEnumeratedInBulk (S31): with FullUserData off, a 500-value list of
// phones (or emails) that holds a user's phone does not find them, in any of the list forms;
// one exact phone still does.
func TestHiddenPhonesAreNotEnumeratedInBulk(t *testing.T) {
	t.Parallel()
	s := seeded(t, rest.Config{})
	app := s.appToken()
	list := phoneList(500)
	emails := make([]string, 500)
	for i := range emails {
		emails[i] = fmt.Sprintf("u%d@example.com", i)
	}
	emails[250] = "ann@example.com"
	repeated := func(key string, vals []string) string {
		q := url.Values{key: vals}
		return q.Encode()
	}
	for _, c := range []struct{ path, field string }{
		{"/users/v2.json?phone[in]=" + url.QueryEscape(strings.Join(list, ",")), "phone"},
		{"/users/v2.json?" + repeated("phone[in][]", list), "phone"},
		{"/users/v2.json?" + repeated("phone[]", list), "phone"},
		{"/users/v2.json?phone[nin]=" + url.QueryEscape(strings.Join(list, ",")), "phone"},
		{"/users/v2.json?email[in]=" + url.QueryEscape(strings.Join(emails, ",")), "email"},
		{"/users.json?" + repeated("filter[]", []string{"string phone in " + strings.Join(list, ",")}), "phone"},
		{"/users.json?" + repeated("filter[]", []string{"string email in " + strings.Join(emails, ",")}), "email"},
		{"/users/phone.json?phone=" + url.QueryEscape(strings.Join(list, ",")), "phone"},
		{"/users/phone.json?" + repeated("phone[]", list), "phone"},
	} {
		r := s.do("GET", c.path, app, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%.80s: %s", c.path, r.body)
		r.errs(t, c.field)
		assert.NotContains(t, string(r.body), "ann", "%.80s", c.path)
	}

	r := s.do("GET", "/users/v2.json?phone=%2B4427123314", app, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, []string{"ann"}, logins(t, r, false))
	r = s.do("GET", "/users/phone.json?phone=4427123314", app, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, []string{"ann"}, logins(t, r, true))
}

// TestBadPagingIsInvalid (item 6): pages whose offset overflows or passes the depth cap, too
// many conditions and too long phone lists are 422 naming the field, never 500 and never a
// page at a huge offset.
func TestBadPagingIsInvalid(t *testing.T) {
	t.Parallel()
	s := seeded(t, rest.Config{FullUserData: true})
	app := s.appToken()
	own, _ := s.signedIn("ann")
	phones := func(n int) string { return url.QueryEscape(strings.Join(phoneList(n), ",")) }
	filters := func(n int, f string) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = f
		}
		return url.Values{"filter[]": vals}.Encode()
	}
	const maxInt = "9223372036854775807"
	for _, c := range []struct{ path, tok, field string }{
		{"/users.json?page=" + maxInt, app, "page"},
		{"/users.json?page=92233720368547759&per_page=100", app, "page"},
		{"/users.json?page=101&per_page=100", app, "page"},
		{"/users.json?page=99999999999999999999", app, "page"},
		{"/users/by_tags.json?tags=apple&page=" + maxInt, app, "page"},
		{"/users/by_full_name.json?full_name=smith&page=92233720368547759&per_page=100", app, "page"},
		{"/users/phone.json?phone=4427123314&page=" + maxInt, app, "page"},
		{"/users/phone.json?phone=4427123314&page=92233720368547759&per_page=100", app, "page"},
		{"/blobs.json?page=" + maxInt, own, "page"},
		{"/users/v2.json?offset=" + maxInt, app, "offset"},
		{"/users/v2.json?offset=10001", app, "offset"},
		{"/users.json?" + filters(999, "number id gt 0"), app, "filter"},
		{"/users.json?" + filters(authcube.MaxQueryConds+1, "number id gt 0"), app, "filter"},
		{"/users.json?" + filters(authcube.MaxQueryConds/2+1, "number id between 0,9"), app, "filter"},
		{"/users/v2.json?id[gt]=0&id[gte]=0&id[lt]=9&id[lte]=9&id[ne]=0&id[nin]=0&id[in]=1&login[ne]=x&login[nin]=x" +
			"&login[gt]=a&login[lt]=z&full_name[ne]=x&website[ne]=x&external_id[ne]=x&created_at[gt]=0&updated_at[gt]=0&last_request_at[gt]=0", app, "where"},
		{"/users/v2.json?phone[in]=" + phones(501), app, "phone"},
		{"/users/v2.json?phone[in]=" + phones(1000), app, "phone"},
		{"/users.json?filter[]=string%20phone%20in%20" + phones(1000), app, "phone"},
		{"/users/phone.json?phone=" + phones(501), app, "phone"},
	} {
		r := s.do("GET", c.path, c.tok, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%.100s: %s", c.path, r.body)
		r.errs(t, c.field)
	}

	r := s.do("GET", "/users/v2.json?phone[in]="+phones(500), app, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	assert.Equal(t, []string{"ann"}, logins(t, r, false))
	r = s.do("GET", "/users.json?page=100&per_page=100", app, nil)
	require.Equal(t, http.StatusOK, r.status, "page × per_page = 10,000 is allowed: %s", r.body)
}

// stalled is a store whose QueryUsers waits until its ctx ends: a query that would run for
// ever, ended only by the engine's time budget.
type stalled struct{ store.Store }

func (s stalled) QueryUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	<-ctx.Done()
	return s.Store.QueryUsers(ctx, q)
}

// TestCraftedFiltersAreBounded (S32): the 60 long LIKE filters of the attack are refused, a
// pattern over 64 characters is refused, and a query that outlasts its time budget is a 422
// while look-ups go on.
func TestCraftedFiltersAreBounded(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "authcube.db"), sqlite.Options{})
	require.NoError(t, err)
	s := newServer(t, rest.Config{}, authtest.WithConfig(func(c *authcube.Config) {
		c.Store, c.QueryTimeout = stalled{st}, 5*time.Millisecond
	}))
	s.env.SignedIn(t, "ann")
	app := s.appToken()

	long := "string website ctn " + strings.Repeat("a", 1000)
	vals := make([]string, 60)
	for i := range vals {
		vals[i] = long
	}
	r := s.do("GET", "/users.json?"+url.Values{"filter[]": vals}.Encode(), app, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	r.errs(t, "filter")
	r = s.do("GET", "/users.json?"+url.Values{"filter[]": {long}}.Encode(), app, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	r.errs(t, "website")
	r = s.do("GET", "/users/v2.json?login[start_with]="+strings.Repeat("a", 65), app, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	r.errs(t, "login")

	r = s.do("GET", "/users.json?filter[]=string%20website%20ctn%20"+strings.Repeat("a", 64), app, nil)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	assert.Contains(t, r.errs(t, "where")[0], "time budget of 5ms")
	r = s.do("GET", "/users/1.json", app, nil)
	require.Equal(t, http.StatusOK, r.status, "a look-up has no query budget: %s", r.body)
	assert.Equal(t, "ann", user(t, r)["login"])
}

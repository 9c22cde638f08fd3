package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity"
	"github.com/authcube/authcube/identity/webhook"
)

const (
	login       = "marvin18"
	password    = "pa55-Sup3r-s3cret!"
	bodySecret  = "BODY-MARKER-7f3a"  // put in response bodies; must never reach an error
	querySecret = "QUERY-MARKER-91c2" // put in the configured URL's query; likewise
	okBody      = `{"id":"u-1","login":"marvin18","email":"marvin@example.com","full_name":"Marvin Simon"}`
)

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// callerClient is a caller's client with no timeout and its own transport, which parallel tests
// closing their servers (and so http.DefaultTransport's idle connections) cannot disturb.
func callerClient() *http.Client { return &http.Client{Transport: &http.Transport{}} }

func newProvider(t *testing.T, cfg webhook.Config) *webhook.Provider {
	t.Helper()
	p, err := webhook.New(cfg)
	require.NoError(t, err)
	return p
}

// blocking serves requests that stall until the test ends or the client goes away, at once or
// (with writeHead) after the head and part of the body. entered receives as each one stalls.
func blocking(t *testing.T, writeHead bool) (srv *httptest.Server, entered <-chan struct{}) {
	release := make(chan struct{})
	ch := make(chan struct{}, 16)
	srv = serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		if writeHead {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"id":`)
			w.(http.Flusher).Flush()
		}
		ch <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close, which waits for handlers
	return srv, ch
}

// requireDenied checks an error that denies without the provider having refused, and that it
// leaks neither the password nor the response body nor the URL's query.
func requireDenied(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	assert.NotErrorIs(t, err, identity.ErrRejected)
	assert.Contains(t, err.Error(), reason)
	assertNoLeak(t, err)
}

func requireRejected(t *testing.T, err error, reason string) {
	t.Helper()
	require.ErrorIs(t, err, identity.ErrRejected)
	assert.Contains(t, err.Error(), reason)
	assertNoLeak(t, err)
}

func assertNoLeak(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{password, bodySecret, querySecret} {
		assert.NotContains(t, err.Error(), s)
		assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), s)
	}
}

func TestAcceptedWithDefaults(t *testing.T) {
	t.Parallel()
	var (
		gotMethod, gotQuery, gotType, gotAccept string
		gotKey                                  []string
		gotBody                                 map[string]any
	)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		gotMethod, gotQuery = r.Method, r.URL.RawQuery
		gotType, gotAccept = r.Header.Get("Content-Type"), r.Header.Get("Accept")
		gotKey = r.Header.Values("X-Api-Key")
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&gotBody))
		reply(http.StatusOK, okBody)(w, r)
	})
	p := newProvider(t, webhook.Config{
		URL:    srv.URL + "/verify?key=" + querySecret,
		Header: http.Header{"X-Api-Key": {"k1", "k2"}, "Content-Type": {"text/plain"}},
	})

	prof, err := p.VerifyPassword(context.Background(), login, password)
	require.NoError(t, err)
	assert.Equal(t, identity.Profile{Subject: "u-1", Login: login, Email: "marvin@example.com", FullName: "Marvin Simon"}, prof)
	assert.Equal(t, http.MethodPost, gotMethod)
	assert.Equal(t, "key="+querySecret, gotQuery, "the password never goes in the URL")
	assert.Equal(t, "application/json", gotType)
	assert.Equal(t, "application/json", gotAccept)
	assert.Equal(t, []string{"k1", "k2"}, gotKey)
	assert.Equal(t, map[string]any{"login": login, "password": password}, gotBody)
}

func TestCustomFieldsAndNestedPath(t *testing.T) {
	t.Parallel()
	var gotBody map[string]any
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&gotBody))
		w.Header().Set("Content-Type", "application/vnd.users+json; charset=UTF-8")
		_, _ = io.WriteString(w, `{"status":{"ok":true},"meta":{"n":[1,2]},"data":{"user":
			{"uid":"u-9","name":"marvin","mail":"m@example.com","display_name":"Marvin S","id":"ignored","extra":null}}}`)
	})
	p := newProvider(t, webhook.Config{
		URL:     srv.URL,
		Request: webhook.RequestFields{Login: "username", Password: "token"},
		Response: webhook.ResponseFields{Path: "data.user", Subject: "uid", Login: "name", Email: "mail",
			FullName: "display_name", Accepted: "status.ok"},
	})

	prof, err := p.VerifyPassword(context.Background(), login, password)
	require.NoError(t, err)
	assert.Equal(t, identity.Profile{Subject: "u-9", Login: "marvin", Email: "m@example.com", FullName: "Marvin S"}, prof)
	assert.Equal(t, map[string]any{"username": login, "token": password}, gotBody)
}

func TestSubjectTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want, deny string }{
		{raw: `4021`, want: "4021"},
		{raw: `0`, want: "0"},
		{raw: `-0`, want: "0"},
		{raw: `-17`, want: "-17"},
		{raw: `123456789012345678901234567890`, want: "123456789012345678901234567890"},
		{raw: `"007"`, want: "007"},
		{raw: `"snowman ☃"`, want: "snowman ☃"},
		{raw: `1.5`, deny: "not an integer"},
		{raw: `1e3`, deny: "not an integer"},
		{raw: `1.0`, deny: "not an integer"},
		{raw: `true`, deny: "not a string or an integer"},
		{raw: `{"n":1}`, deny: "not a string or an integer"},
		{raw: `["1"]`, deny: "not a string or an integer"},
		{raw: `null`, deny: "missing or empty"},
		{raw: `""`, deny: "missing or empty"},
		{raw: `"` + strings.Repeat("a", webhook.MaxSubjectBytes+1) + `"`, deny: "over 255 bytes"},
		{raw: strings.Repeat("9", webhook.MaxSubjectBytes+1), deny: "over 255 bytes"},
	} {
		t.Run(tc.raw[:min(len(tc.raw), 20)], func(t *testing.T) {
			t.Parallel()
			srv := serve(t, reply(http.StatusOK, `{"id":`+tc.raw+`,"note":"`+bodySecret+`"}`))
			prof, err := newProvider(t, webhook.Config{URL: srv.URL}).VerifyPassword(context.Background(), login, password)
			if tc.deny != "" {
				requireDenied(t, err, tc.deny)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, prof.Subject)
		})
	}
	t.Run("max length", func(t *testing.T) {
		t.Parallel()
		subject := strings.Repeat("s", webhook.MaxSubjectBytes)
		srv := serve(t, reply(http.StatusOK, `{"id":"`+subject+`"}`))
		prof, err := newProvider(t, webhook.Config{URL: srv.URL}).VerifyPassword(context.Background(), login, password)
		require.NoError(t, err)
		assert.Equal(t, subject, prof.Subject)
	})
}

func TestRejected(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			srv := serve(t, reply(status, `{"error":"`+bodySecret+`"}`))
			_, err := newProvider(t, webhook.Config{URL: srv.URL}).VerifyPassword(context.Background(), login, password)
			requireRejected(t, err, fmt.Sprintf("status %d", status))
		})
	}
	t.Run("accepted false", func(t *testing.T) {
		t.Parallel()
		srv := serve(t, reply(http.StatusOK, `{"result":{"valid":false},"error":"`+bodySecret+`"}`))
		p := newProvider(t, webhook.Config{URL: srv.URL, Response: webhook.ResponseFields{Accepted: "result.valid"}})
		_, err := p.VerifyPassword(context.Background(), login, password)
		requireRejected(t, err, `"result.valid" is false`)
	})
	t.Run("bad input, provider not asked", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1); reply(http.StatusOK, okBody)(w, r) })
		p := newProvider(t, webhook.Config{URL: srv.URL})
		for _, c := range [][2]string{{"", password}, {login, ""}, {login, password + "\xff"}, {"\xfe" + login, password}} {
			_, err := p.VerifyPassword(context.Background(), c[0], c[1])
			requireRejected(t, err, "login or password")
		}
		assert.Zero(t, calls.Load())
	})
}

func TestProviderDown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(reply(http.StatusOK, okBody))
	srv.Close()
	_, err := newProvider(t, webhook.Config{URL: srv.URL + "/?key=" + querySecret}).VerifyPassword(context.Background(), login, password)
	requireDenied(t, err, "webhook: verify password: request: ")
	assert.NotContains(t, err.Error(), "/?key=")
}

func TestSlowProvider(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		writeHead bool
		client    *http.Client
		reason    string
	}{
		{name: "no headers", reason: "request: no answer within 200ms"},
		{name: "no headers, caller client without timeout", client: callerClient(), reason: "request: no answer within 200ms"},
		{name: "body stalls", writeHead: true, reason: "read response: no answer within 200ms"},
		{name: "body stalls, caller client", writeHead: true, client: callerClient(), reason: "read response: no answer within 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := blocking(t, tc.writeHead)
			p := newProvider(t, webhook.Config{URL: srv.URL, Timeout: 200 * time.Millisecond, Client: tc.client})
			_, err := p.VerifyPassword(context.Background(), login, password)
			requireDenied(t, err, tc.reason)
			var nerr net.Error
			assert.True(t, errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout(), "%v", err)
		})
	}
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	t.Run("while waiting", func(t *testing.T) {
		t.Parallel()
		srv, entered := blocking(t, false)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() { <-entered; cancel() }()
		_, err := newProvider(t, webhook.Config{URL: srv.URL}).VerifyPassword(ctx, login, password)
		requireDenied(t, err, "context canceled")
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("before the call", func(t *testing.T) {
		t.Parallel()
		srv := serve(t, reply(http.StatusOK, okBody))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newProvider(t, webhook.Config{URL: srv.URL}).VerifyPassword(ctx, login, password)
		requireDenied(t, err, "context canceled")
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	var secondCalls atomic.Int32
	second := serve(t, func(w http.ResponseWriter, r *http.Request) { secondCalls.Add(1); reply(http.StatusOK, okBody)(w, r) })
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		first := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, second.URL, status) })
		for name, client := range map[string]*http.Client{"default client": nil, "caller client": callerClient()} {
			t.Run(fmt.Sprintf("%d %s", status, name), func(t *testing.T) {
				_, err := newProvider(t, webhook.Config{URL: first.URL, Client: client}).VerifyPassword(context.Background(), login, password)
				requireDenied(t, err, fmt.Sprintf("unexpected status %d: redirects are not followed", status))
				if client != nil {
					assert.Nil(t, client.CheckRedirect, "the caller's client is left as it was")
				}
			})
		}
	}
	assert.Zero(t, secondCalls.Load())
}

func TestDenied(t *testing.T) {
	t.Parallel()
	withType := func(ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{ct}
			if ct == "" {
				w.Header()["Content-Type"] = nil // no sniffing either
			}
			_, _ = io.WriteString(w, body)
		}
	}
	note := `,"note":"` + bodySecret + `"`
	for _, tc := range []struct {
		name     string
		response webhook.ResponseFields
		handler  http.HandlerFunc
		reason   string
	}{
		{name: "status 500", handler: reply(500, `{"error":"`+bodySecret+`"}`), reason: "unexpected status 500"},
		{name: "status 400", handler: reply(400, okBody), reason: "unexpected status 400"},
		{name: "status 201", handler: reply(201, okBody), reason: "unexpected status 201"},
		{name: "status 204", handler: reply(204, ""), reason: "unexpected status 204"},
		{name: "malformed JSON", handler: reply(200, `{"id":"1"`+note), reason: "malformed JSON"},
		{name: "bad token", handler: reply(200, `{"id":`+bodySecret+`}`), reason: "malformed JSON"},
		{name: "empty body", handler: reply(200, ""), reason: "malformed JSON"},
		{name: "trailing object", handler: reply(200, `{"id":"1"} {"id":"2"}`), reason: "data after the JSON object"},
		{name: "trailing garbage", handler: reply(200, `{"id":"1"}`+bodySecret), reason: "data after the JSON object"},
		{name: "array body", handler: reply(200, `[{"id":"1"`+note+`}]`), reason: "not a JSON object"},
		{name: "null body", handler: reply(200, `null`), reason: "not a JSON object"},
		{name: "string body", handler: reply(200, `"`+bodySecret+`"`), reason: "not a JSON object"},
		{name: "duplicate key", handler: reply(200, `{"id":"1","id":"2"`+note+`}`), reason: "a key given twice"},
		{name: "duplicate escaped key", handler: reply(200, `{"id":"1","\u0069d":"2"}`), reason: "a key given twice"},
		{name: "invalid UTF-8", handler: reply(200, `{"id":"1","full_name":"M`+"\xff"+`"`+note+`}`), reason: "not valid UTF-8"},
		{name: "missing subject", handler: reply(200, `{"login":"m"`+note+`}`), reason: `subject field "id": missing or empty`},
		{name: "email number", handler: reply(200, `{"id":"1","email":5`+note+`}`), reason: `field "email": not a string`},
		{name: "login object", handler: reply(200, `{"id":"1","login":{}`+note+`}`), reason: `field "login": not a string`},
		{name: "full name bool", handler: reply(200, `{"id":"1","full_name":false}`), reason: `field "full_name": not a string`},
		{name: "login too long", handler: reply(200, `{"id":"1","login":"`+strings.Repeat("x", 1025)+`"}`), reason: `field "login": over 1024 bytes`},
		{name: "NUL in subject", handler: reply(200, `{"id":"a\u0000b"`+note+`}`), reason: `subject field "id": holds control characters`},
		{name: "newline in login", handler: reply(200, `{"id":"1","login":"a\nb"}`), reason: `field "login": holds control characters`},
		{name: "escape in full name", handler: reply(200, `{"id":"1","full_name":"\u001b[31mred"}`), reason: `field "full_name": holds control characters`},
		{name: "C1 in email", handler: reply(200, `{"id":"1","email":"a\u0085@b"}`), reason: `field "email": holds control characters`},
		{name: "text/plain", handler: withType("text/plain", okBody), reason: "content type is not application/json"},
		{name: "text/html", handler: withType("text/html; charset=utf-8", okBody), reason: "content type is not application/json"},
		{name: "no content type", handler: withType("", okBody), reason: "no content type"},
		{name: "latin-1", handler: withType("application/json; charset=iso-8859-1", okBody), reason: "charset is not utf-8"},
		{name: "path missing", response: webhook.ResponseFields{Path: "data.user"},
			handler: reply(200, `{"data":{"id":"1"}`+note+`}`), reason: `path "data.user": missing`},
		{name: "path not an object", response: webhook.ResponseFields{Path: "data"},
			handler: reply(200, `{"data":["`+bodySecret+`"]}`), reason: `path "data": not a JSON object`},
		{name: "path null", response: webhook.ResponseFields{Path: "data"}, handler: reply(200, `{"data":null}`), reason: `path "data": missing`},
		{name: "accepted missing", response: webhook.ResponseFields{Accepted: "ok"},
			handler: reply(200, okBody), reason: `field "ok": missing`},
		{name: "accepted string", response: webhook.ResponseFields{Accepted: "ok"},
			handler: reply(200, `{"ok":"true","id":"1"}`), reason: `field "ok": not a boolean`},
		{name: "accepted number", response: webhook.ResponseFields{Accepted: "ok"},
			handler: reply(200, `{"ok":1,"id":"1"}`), reason: `field "ok": not a boolean`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, tc.handler)
			p := newProvider(t, webhook.Config{URL: srv.URL, Response: tc.response})
			prof, err := p.VerifyPassword(context.Background(), login, password)
			requireDenied(t, err, tc.reason)
			assert.Zero(t, prof)
		})
	}
}

func TestResponseSizeCap(t *testing.T) {
	t.Parallel()
	const max = 100
	body := func(n int) string { return okBody + strings.Repeat(" ", n-len(okBody)) }
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		reply(http.StatusOK, body(map[string]int{"/fits": max, "/over": max + 1, "/huge": 10 << 20}[r.URL.Path]))(w, r)
	})
	p := newProvider(t, webhook.Config{URL: srv.URL + "/fits", MaxResponseBytes: max})
	_, err := p.VerifyPassword(context.Background(), login, password)
	require.NoError(t, err, "a body of exactly MaxResponseBytes is read")
	for _, path := range []string{"/over", "/huge"} {
		p := newProvider(t, webhook.Config{URL: srv.URL + path, MaxResponseBytes: max})
		_, err := p.VerifyPassword(context.Background(), login, password)
		requireDenied(t, err, "body over 100 bytes")
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv := serve(t, reply(http.StatusOK, okBody))
	p := newProvider(t, webhook.Config{URL: srv.URL, Header: http.Header{"X-Api-Key": {"k"}}})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			prof, err := p.VerifyPassword(context.Background(), login, password)
			assert.NoError(t, err)
			assert.Equal(t, "u-1", prof.Subject)
		})
	}
	wg.Wait()
}

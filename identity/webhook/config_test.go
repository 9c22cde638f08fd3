package webhook_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/identity/webhook"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	const apiKey = "API-KEY-SECRET-55"
	good := "https://users.example.com/verify"
	for _, tc := range []struct {
		name   string
		cfg    webhook.Config
		reason string
	}{
		{name: "no URL", cfg: webhook.Config{}, reason: "webhook: new: url: required"},
		{name: "ftp", cfg: webhook.Config{URL: "ftp://users.example.com/verify"}, reason: "url: scheme must be http or https"},
		{name: "mailto", cfg: webhook.Config{URL: "mailto:ops@example.com"}, reason: "url: scheme must be http or https"},
		{name: "relative", cfg: webhook.Config{URL: "/verify"}, reason: "url: scheme must be http or https"},
		{name: "does not parse", cfg: webhook.Config{URL: "https://exa mple.com/%zz"}, reason: "url: does not parse"},
		{name: "no host", cfg: webhook.Config{URL: "https:///verify"}, reason: "url: no host"},
		{name: "opaque", cfg: webhook.Config{URL: "https:users.example.com"}, reason: "url: no host"},
		{name: "credentials in URL", cfg: webhook.Config{URL: "https://ops:" + apiKey + "@users.example.com/"}, reason: "url: must not hold credentials"},
		{name: "plain http to remote host", cfg: webhook.Config{URL: "http://users.example.com/verify"}, reason: "plain http is only allowed to a loopback host"},
		{name: "plain http to private address", cfg: webhook.Config{URL: "http://10.0.0.7/verify"}, reason: "plain http is only allowed to a loopback host"},
		{name: "plain http to localhost lookalike", cfg: webhook.Config{URL: "http://localhost.example.com/"}, reason: "plain http is only allowed to a loopback host"},
		{name: "negative timeout", cfg: webhook.Config{URL: good, Timeout: -time.Second}, reason: "timeout: negative"},
		{name: "negative size", cfg: webhook.Config{URL: good, MaxResponseBytes: -1}, reason: "max response bytes: negative"},
		{name: "header name", cfg: webhook.Config{URL: good, Header: http.Header{"X Api Key": {apiKey}}}, reason: `header "X Api Key": invalid name`},
		{name: "header value", cfg: webhook.Config{URL: good, Header: http.Header{"X-Api-Key": {apiKey + "\r\nX-Evil: 1"}}}, reason: `header "X-Api-Key": invalid value`},
		{name: "same request names", cfg: webhook.Config{URL: good, Request: webhook.RequestFields{Login: "u", Password: "u"}}, reason: "login and password fields are the same"},
		{name: "password named like default login", cfg: webhook.Config{URL: good, Request: webhook.RequestFields{Password: "login"}}, reason: "login and password fields are the same"},
		{name: "blank subject", cfg: webhook.Config{URL: good, Response: webhook.ResponseFields{Subject: "  "}}, reason: "response: subject field: blank"},
		{name: "control in field", cfg: webhook.Config{URL: good, Response: webhook.ResponseFields{FullName: "full\x00name"}}, reason: "response: full name field: invalid characters"},
		{name: "control in request field", cfg: webhook.Config{URL: good, Request: webhook.RequestFields{Login: "lo\ngin"}}, reason: "request: login field: invalid characters"},
		{name: "empty path segment", cfg: webhook.Config{URL: good, Response: webhook.ResponseFields{Path: "data..user"}}, reason: "response: path: segment: blank"},
		{name: "leading dot", cfg: webhook.Config{URL: good, Response: webhook.ResponseFields{Path: ".user"}}, reason: "response: path: segment: blank"},
		{name: "trailing dot in accepted", cfg: webhook.Config{URL: good, Response: webhook.ResponseFields{Accepted: "ok."}}, reason: "response: accepted field: segment: blank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := webhook.New(tc.cfg)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tc.reason)
			assert.NotContains(t, err.Error(), apiKey)
		})
	}
}

func TestNewAccepts(t *testing.T) {
	t.Parallel()
	for _, cfg := range []webhook.Config{
		{URL: "https://users.example.com/verify?tenant=3"},
		{URL: "HTTPS://users.example.com:8443"},
		{URL: "http://localhost:8080/verify"},
		{URL: "http://LOCALHOST/verify"},
		{URL: "http://127.0.0.1:9000/verify"},
		{URL: "http://127.3.4.5/verify"},
		{URL: "http://[::1]:9000/verify"},
		{URL: "http://users.internal/verify", AllowInsecureHTTP: true},
		{URL: "https://users.example.com", Header: http.Header{"X-Api-Key": {"k"}}, Timeout: time.Second, MaxResponseBytes: 1,
			Request:  webhook.RequestFields{Login: "user.name", Password: "token"},
			Response: webhook.ResponseFields{Path: "data.user", Subject: "uid", Accepted: "meta.ok", Email: "e.mail"}},
	} {
		_, err := webhook.New(cfg)
		assert.NoError(t, err, cfg.URL)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	t.Parallel()
	const apiKey, query = "API-KEY-SECRET-55", "QUERY-SECRET-66"
	cfg := webhook.Config{URL: "https://users.example.com/verify?key=" + query, Header: http.Header{"X-Api-Key": {apiKey}}}
	p, err := webhook.New(cfg)
	require.NoError(t, err)

	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("webhook", "config", cfg, "provider", p)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg), fmt.Sprintf("%v %+v %#v %s", p, p, p, p), logged.String()} {
		assert.NotContains(t, s, apiKey)
		assert.NotContains(t, s, query)
		assert.Contains(t, s, "https://users.example.com/verify")
		assert.Contains(t, s, "X-Api-Key")
	}
}

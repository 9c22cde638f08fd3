package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// String describes the configuration without header values or the URL's query, either of which
// may hold a key.
func (c Config) String() string {
	return fmt.Sprintf("webhook.Config{URL: %s, Header: %s}", describeURL(c.URL), headerNames(c.Header))
}

// GoString is String, so that %#v does not show header values either.
func (c Config) GoString() string { return c.String() }

// LogValue logs the URL without its query and the header names only.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", describeURL(c.URL)), slog.String("header", headerNames(c.Header)))
}

// MarshalJSON encodes c as String describes it: the URL without its query, header names with
// their values replaced by "REDACTED", and no Client (S37).
func (c Config) MarshalJSON() ([]byte, error) {
	header := make(map[string]string, len(c.Header))
	for name := range c.Header {
		header[name] = "REDACTED"
	}
	return json.Marshal(struct {
		URL               string
		AllowInsecureHTTP bool
		Header            map[string]string
		Timeout           time.Duration
		MaxResponseBytes  int64
		Request           RequestFields
		Response          ResponseFields
	}{describeURL(c.URL), c.AllowInsecureHTTP, header, c.Timeout, c.MaxResponseBytes, c.Request, c.Response})
}

// String describes the provider without header values or the URL's query.
func (p *Provider) String() string {
	return fmt.Sprintf("webhook.Provider{URL: %s, Header: %s}", describeURL(p.url.String()), headerNames(p.header))
}

// GoString is String, so that %#v does not show header values either.
func (p *Provider) GoString() string { return p.String() }

// LogValue logs the URL without its query and the header names only.
func (p *Provider) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", describeURL(p.url.String())), slog.String("header", headerNames(p.header)))
}

func describeURL(raw string) string {
	if raw == "" {
		return "(none)"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

func headerNames(h http.Header) string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name+": REDACTED")
	}
	slices.Sort(names)
	return "[" + strings.Join(names, ", ") + "]"
}

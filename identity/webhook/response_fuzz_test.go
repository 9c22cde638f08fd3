package webhook

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseResponse (R6): the response parser never panics; what it accepts is a non-empty
// subject and strings within their caps, valid UTF-8; its errors never quote the body.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"id":"u-1","login":"bigbird","email":"bird@example.org","full_name":"Big Bird"}`,
		`{"ok":true,"user":{"id":42,"login":"elmo"}}`,
		`{"ok":false}`,
		`{"id":"a","id":"b"}`,
		`{"id":"a"} {}`,
		`{"user":null}`,
		`[1,2]`,
		`{"id":1e3}`,
		`{"id":"\u0000"}`,
		"\xff",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	top, err := New(Config{URL: "https://idp.example/verify"})
	if err != nil {
		f.Fatal(err)
	}
	nested, err := New(Config{URL: "https://idp.example/verify", Response: ResponseFields{Path: "user", Accepted: "ok"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, useNested bool) {
		p := top
		if useNested {
			p = nested
		}
		prof, err := p.parse(body)
		if err != nil {
			if len(body) >= 8 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("the error %q quotes the body", err)
			}
			return
		}
		if prof.Subject == "" || len(prof.Subject) > MaxSubjectBytes {
			t.Fatalf("accepted subject of %d bytes", len(prof.Subject))
		}
		for _, s := range []string{prof.Subject, prof.Login, prof.Email, prof.FullName} {
			if !utf8.ValidString(s) || len(s) > MaxStringBytes {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

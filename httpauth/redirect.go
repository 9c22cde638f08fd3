package httpauth

import (
	"net/url"
	"strings"
)

// maxRedirect bounds the text LocalRedirect reads.
const maxRedirect = 2048

// LocalRedirect returns next as a path on this site to redirect to after a sign-in, or "/"
// when it is anything else: empty, longer than 2 KiB, holding control bytes (a browser drops a
// tab or newline, so "/\t/evil.example" is "//evil.example" to it) or backslashes (which
// browsers read as slashes), with a scheme, a host or user info, or starting with "//". What it
// returns is rebuilt from the parsed path, query and fragment, so it always starts with a
// single "/" (open redirect). Use it on every "next" parameter a client sends.
func LocalRedirect(next string) string {
	if len(next) > maxRedirect || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	out := u.RequestURI()
	if u.Fragment != "" {
		out += "#" + u.EscapedFragment()
	}
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}

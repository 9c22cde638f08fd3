package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authcube/authcube/identity"
)

// Errors about the response body say what is wrong and, at most, which configured field; they
// never quote the body, whose bytes are the provider's.
var (
	errMalformed = errors.New("malformed JSON")
	errNotObject = errors.New("not a JSON object")
	errTrailing  = errors.New("data after the JSON object")
	errDuplicate = errors.New("a key given twice")
)

// parse reads the profile out of a 200 response body.
func (p *Provider) parse(body []byte) (identity.Profile, error) {
	if !utf8.Valid(body) {
		// The JSON decoder would quietly turn bad bytes into U+FFFD.
		return identity.Profile{}, errors.New("not valid UTF-8")
	}
	top, err := decodeObject(body)
	if err != nil {
		return identity.Profile{}, err
	}
	if p.accepted != nil {
		ok, err := acceptedFlag(top, p.accepted)
		if err != nil {
			return identity.Profile{}, fmt.Errorf("field %q: %w", p.response.Accepted, err)
		}
		if !ok {
			return identity.Profile{}, fmt.Errorf("field %q is false: %w", p.response.Accepted, identity.ErrRejected)
		}
	}
	user := top
	for i, seg := range p.path {
		raw, ok := user[seg]
		if !ok || isNull(raw) {
			return identity.Profile{}, fmt.Errorf("path %q: missing", strings.Join(p.path[:i+1], "."))
		}
		if user, err = decodeObject(raw); err != nil {
			return identity.Profile{}, fmt.Errorf("path %q: %w", strings.Join(p.path[:i+1], "."), err)
		}
	}

	var prof identity.Profile
	subject, err := stringField(user[p.response.Subject], MaxSubjectBytes, true)
	if err != nil {
		return identity.Profile{}, fmt.Errorf("subject field %q: %w", p.response.Subject, err)
	}
	if subject == "" {
		return identity.Profile{}, fmt.Errorf("subject field %q: missing or empty", p.response.Subject)
	}
	prof.Subject = subject
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{p.response.Login, &prof.Login},
		{p.response.Email, &prof.Email},
		{p.response.FullName, &prof.FullName},
	} {
		if *f.dst, err = stringField(user[f.name], MaxStringBytes, false); err != nil {
			return identity.Profile{}, fmt.Errorf("field %q: %w", f.name, err)
		}
	}
	return prof, nil
}

// decodeObject decodes exactly one JSON object, refusing any other value, trailing data and
// repeated keys (which parsers resolve differently). Values stay raw until asked for.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, errMalformed
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	obj := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errMalformed
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errMalformed
		}
		if _, dup := obj[key]; dup {
			return nil, errDuplicate
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errMalformed
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, errMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errTrailing
	}
	return obj, nil
}

// acceptedFlag follows path from the top object to a boolean, which must be there.
func acceptedFlag(top map[string]json.RawMessage, path []string) (bool, error) {
	obj := top
	for i, seg := range path {
		raw, ok := obj[seg]
		if !ok || isNull(raw) {
			return false, errors.New("missing")
		}
		if i < len(path)-1 {
			var err error
			if obj, err = decodeObject(raw); err != nil {
				return false, err
			}
			continue
		}
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, errors.New("not a boolean")
}

// stringField returns a string value, or "" for an absent or null one. With integers set, an
// integer is accepted too and given as its decimal digits. The value must be at most max bytes
// and free of control characters.
func stringField(raw json.RawMessage, max int, integers bool) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return "", nil
	}
	var s string
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errMalformed
		}
	case integers && (c == '-' || c >= '0' && c <= '9'):
		if !isIntegerLiteral(raw) {
			return "", errors.New("a number that is not an integer")
		}
		s = string(raw)
		if s == "-0" {
			s = "0"
		}
	case integers:
		return "", errors.New("not a string or an integer")
	default:
		return "", errors.New("not a string")
	}
	if len(s) > max {
		return "", fmt.Errorf("over %d bytes", max)
	}
	if strings.IndexFunc(s, isControl) >= 0 {
		return "", errors.New("holds control characters")
	}
	return s, nil
}

// isIntegerLiteral reports whether a JSON number has neither fraction nor exponent. JSON itself
// rules out leading zeros and a plus sign, so the digits are already the decimal form.
func isIntegerLiteral(num []byte) bool {
	digits := bytes.TrimPrefix(num, []byte("-"))
	if len(digits) == 0 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func isControl(r rune) bool { return unicode.IsControl(r) }

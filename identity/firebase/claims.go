package firebase

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/authcube/authcube/identity"
)

// maxUnix is the largest time claim accepted: the end of year 9999.
const maxUnix = 253402300799

// maxJSONDepth bounds the nesting of the JSON documents parsed here.
const maxJSONDepth = 32

// parseClaims checks an ID token's payload against v's project at now and returns its claims.
// Only the signature has been checked before.
func (v *Verifier) parseClaims(data []byte, now time.Time) (identity.Claims, error) {
	c, err := decodeObject(data)
	if err != nil {
		return identity.Claims{}, reject("payload: malformed JSON")
	}
	exp, err := c.requiredTime("exp")
	if err != nil {
		return identity.Claims{}, err
	}
	iat, err := c.requiredTime("iat")
	if err != nil {
		return identity.Claims{}, err
	}
	authTime, err := c.requiredTime("auth_time")
	if err != nil {
		return identity.Claims{}, err
	}
	nbf, hasNbf, err := c.time("nbf")
	if err != nil {
		return identity.Claims{}, err
	}
	latest := now.Add(v.leeway)
	switch {
	case !now.Before(exp):
		return identity.Claims{}, reject("exp: expired")
	case iat.After(latest):
		return identity.Claims{}, reject("iat: in the future")
	case !exp.After(iat):
		return identity.Claims{}, reject("exp: not after iat")
	case authTime.After(latest):
		return identity.Claims{}, reject("auth_time: in the future")
	case hasNbf && nbf.After(latest):
		return identity.Claims{}, reject("nbf: in the future")
	}

	if aud, err := c.requiredString("aud"); err != nil {
		return identity.Claims{}, err
	} else if aud != v.projectID {
		return identity.Claims{}, reject("aud: not this project")
	}
	if iss, err := c.requiredString("iss"); err != nil {
		return identity.Claims{}, err
	} else if iss != v.issuer {
		return identity.Claims{}, reject("iss: not this project")
	}
	sub, err := c.requiredString("sub")
	if err != nil {
		return identity.Claims{}, err
	}
	if !validSubject(sub) {
		return identity.Claims{}, reject("sub: empty, too long or invalid")
	}
	if uid, ok, err := c.str("user_id", "user_id"); err != nil {
		return identity.Claims{}, err
	} else if ok && uid != sub {
		return identity.Claims{}, reject("user_id: not sub")
	}

	out := identity.Claims{Subject: sub, IssuedAt: iat, ExpiresAt: exp}
	if phone, ok, err := c.str("phone_number", "phone_number"); err != nil {
		return identity.Claims{}, err
	} else if ok && !isE164(phone) {
		return identity.Claims{}, reject("phone_number: not E.164")
	} else {
		out.Phone = phone
	}
	if out.Email, _, err = c.str("email", "email"); err != nil {
		return identity.Claims{}, err
	}
	if out.EmailVerified, _, err = c.boolean("email_verified"); err != nil {
		return identity.Claims{}, err
	}

	fb, ok, err := c.object("firebase")
	switch {
	case err != nil:
		return identity.Claims{}, err
	case !ok:
		return identity.Claims{}, reject("firebase: missing")
	}
	// Tenants' users are not this project's users: their uids are unique per tenant only.
	if _, ok := fb["tenant"]; ok {
		return identity.Claims{}, reject("firebase.tenant: tenants not supported")
	}
	p, ok, err := fb.str("firebase.sign_in_provider", "sign_in_provider")
	switch {
	case err != nil:
		return identity.Claims{}, err
	case !ok || p == "":
		return identity.Claims{}, reject("firebase.sign_in_provider: missing")
	}
	out.SignInProvider = p
	return out, nil
}

// validSubject reports whether sub is a usable Firebase uid: 1 to MaxSubjectLength characters,
// none of them control characters.
func validSubject(sub string) bool {
	if sub == "" || utf8.RuneCountInString(sub) > MaxSubjectLength {
		return false
	}
	for _, r := range sub {
		if isControl(r) {
			return false
		}
	}
	return true
}

func isControl(r rune) bool { return r < 0x20 || 0x7f <= r && r < 0xa0 }

// isE164 reports whether s is "+" then 1 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 2 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// object is a decoded JSON object whose members are looked up by exact name (encoding/json
// would match struct fields case-insensitively).
type object map[string]json.RawMessage

// decodeObject decodes a JSON object, refusing invalid UTF-8, duplicate names at any depth,
// nesting beyond maxJSONDepth and trailing data.
func decodeObject(data []byte) (object, error) {
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, err
	}
	return o, nil
}

func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkJSON(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

// walkJSON reads one value from dec, checking that no object repeats a name.
func walkJSON(dec *json.Decoder, depth int) error {
	if depth > maxJSONDepth {
		return errors.New("too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := make(map[string]bool)
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return err
			}
			s, ok := name.(string)
			if !ok {
				return errors.New("bad object name")
			}
			if seen[s] {
				return errors.New("duplicate name")
			}
			seen[s] = true
			if err := walkJSON(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for dec.More() {
			if err := walkJSON(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// str returns member name as a string; ok is false when absent. label names it in errors.
func (o object) str(label, name string) (s string, ok bool, err error) {
	raw, ok := o[name]
	if !ok {
		return "", false, nil
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", true, reject(label + ": not a string")
	}
	return s, true, nil
}

func (o object) requiredString(name string) (string, error) {
	s, ok, err := o.str(name, name)
	if err == nil && !ok {
		err = reject(name + ": missing")
	}
	return s, err
}

func (o object) boolean(name string) (b, ok bool, err error) {
	switch raw, ok := o[name]; {
	case !ok:
		return false, false, nil
	case string(raw) == "true":
		return true, true, nil
	case string(raw) == "false":
		return false, true, nil
	}
	return false, true, reject(name + ": not a boolean")
}

func (o object) object(name string) (object, bool, error) {
	raw, ok := o[name]
	if !ok {
		return nil, false, nil
	}
	var sub object
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &sub) != nil {
		return nil, true, reject(name + ": not an object")
	}
	return sub, true, nil
}

// time returns member name, a NumericDate, which must be a whole number of seconds between 0
// and maxUnix.
func (o object) time(name string) (time.Time, bool, error) {
	raw, ok := o[name]
	if !ok {
		return time.Time{}, false, nil
	}
	if len(raw) == 0 || raw[0] < '0' || raw[0] > '9' {
		return time.Time{}, true, reject(name + ": not a number")
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n > maxUnix {
		return time.Time{}, true, reject(name + ": not a whole number of seconds")
	}
	return time.Unix(n, 0).UTC(), true, nil
}

func (o object) requiredTime(name string) (time.Time, error) {
	t, ok, err := o.time(name)
	if err == nil && !ok {
		err = reject(name + ": missing")
	}
	return t, err
}

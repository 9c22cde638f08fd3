package rest

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/authcube/authcube"
)

// Query strings come from the SDK's own serializer: nested keys
// with literal brackets ("user_tags[all][]=x"), values percent-encoded, and list values either
// repeated ("k[]=a&k[]=b") or comma-joined ("k=a,b"). Both list forms are accepted everywhere.

// splitKey splits "a[b][c]" into "a" and ["b", "c"]; "a[]" gives "a" and [""]. A key that is
// not well bracketed is its own base.
func splitKey(k string) (string, []string) {
	i := strings.IndexByte(k, '[')
	if i <= 0 || !strings.HasSuffix(k, "]") {
		return k, nil
	}
	base, rest := k[:i], k[i:]
	var subs []string
	for rest != "" {
		if rest[0] != '[' {
			return k, nil
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return k, nil
		}
		subs = append(subs, rest[1:j])
		rest = rest[j+1:]
	}
	return base, subs
}

// listValues flattens repeated and comma-joined values into one list, without empty items.
func listValues(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// grouped returns the values of q by base key, so "tags[]" and "tags" are one parameter.
func grouped(q url.Values, base string) []string {
	var out []string
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if b, _ := splitKey(k); b == base {
			out = append(out, q[k]...)
		}
	}
	return out
}

// intParam returns the first of the named parameters that is present, as a non-negative int;
// absent gives 0.
func intParam(q url.Values, names ...string) (int, error) {
	for _, name := range names {
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, invalidField(name, "must be a non-negative integer")
			}
			return n, nil
		}
	}
	return 0, nil
}

// legacyOffset is the offset of page p of limit users (above 100 means 100, as the engine's),
// refusing a page deeper than authcube.MaxPageDepth with 422 naming "page" before page × limit
// can overflow.
func legacyOffset(p authcube.Page, limit int) (int, error) {
	perPage := min(limit, 100)
	if p.Page > authcube.MaxPageDepth/perPage {
		return 0, invalidField("page", fmt.Sprintf("page × per_page must be at most %d", authcube.MaxPageDepth))
	}
	return (p.Page - 1) * perPage, nil
}

// legacyPage reads 1-based page (or the first of pageNames) and per_page. The default
// per_page is 10, as in ConnectyCube, and the maximum 100, as the engine's.
func legacyPage(q url.Values, pageNames ...string) (authcube.Page, error) {
	page, err := intParam(q, pageNames...)
	if err != nil {
		return authcube.Page{}, err
	}
	perPage, err := intParam(q, "per_page")
	if err != nil {
		return authcube.Page{}, err
	}
	return authcube.Page{Page: max(page, 1), PerPage: perPage}, nil
}

// queryFields maps the REST field names of filters and sorts onto the engine's.
var queryFields = map[string]authcube.Field{
	"id": authcube.FieldID, "login": authcube.FieldLogin, "email": authcube.FieldEmail,
	"full_name": authcube.FieldFullName, "phone": authcube.FieldPhone, "website": authcube.FieldWebsite,
	"external_user_id": authcube.FieldExternalID, "external_id": authcube.FieldExternalID,
	"user_tags": authcube.FieldTags, "tags": authcube.FieldTags,
	"created_at": authcube.FieldCreatedAt, "updated_at": authcube.FieldUpdatedAt, "last_request_at": authcube.FieldLastRequestAt,
}

// v2Ops maps the operators of /users/v2.json (field[op]=v) onto the engine's.
var v2Ops = map[string]authcube.Op{
	"eq": authcube.OpEq, "ne": authcube.OpNe, "lt": authcube.OpLt, "lte": authcube.OpLte,
	"gt": authcube.OpGt, "gte": authcube.OpGte, "in": authcube.OpIn, "nin": authcube.OpNin,
	"all": authcube.OpAll, "or": authcube.OpIn, "ctn": authcube.OpContains, "start_with": authcube.OpStartsWith,
}

// legacyOps maps the operators of the legacy filter[] syntax; "between" is handled apart.
var legacyOps = map[string]authcube.Op{
	"eq": authcube.OpEq, "ne": authcube.OpNe, "lt": authcube.OpLt, "gt": authcube.OpGt,
	"le": authcube.OpLte, "ge": authcube.OpGte, "lte": authcube.OpLte, "gte": authcube.OpGte,
	"in": authcube.OpIn, "nin": authcube.OpNin, "all": authcube.OpAll,
	"ctn": authcube.OpContains, "start_with": authcube.OpStartsWith,
}

// field looks up a REST field name.
func field(name string) (authcube.Field, error) {
	f, ok := queryFields[name]
	if !ok {
		return "", invalidField(name, "is not a field users can be filtered or sorted on")
	}
	return f, nil
}

// hidden reports whether f is kept from other users (FullUserData off).
func (h *handler) hidden(f authcube.Field) bool {
	return !h.cfg.FullUserData && (f == authcube.FieldEmail || f == authcube.FieldPhone)
}

// cond builds one condition, converting the raw values by the field's type. A hidden field
// takes one exact value (S31): eq, or in with a single value, as ConnectyCube's look-ups by
// phone and email. A list maps a block of numbers or addresses to accounts in a few requests,
// and ne, nin, ranges, substrings and prefixes enumerate the values themselves.
func (h *handler) cond(name string, f authcube.Field, op authcube.Op, raw []string) (authcube.Cond, error) {
	if h.hidden(f) {
		if (op != authcube.OpEq && op != authcube.OpIn) || len(raw) != 1 || strings.TrimSpace(raw[0]) == "" {
			return authcube.Cond{}, invalidField(name, "other users' "+name+" can be matched only against one exact value")
		}
		op = authcube.OpEq
	}
	c := authcube.Cond{Field: f, Op: op, Values: make([]any, 0, len(raw))}
	for _, v := range raw {
		switch f {
		case authcube.FieldID:
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return authcube.Cond{}, invalidField(name, "must be an integer")
			}
			c.Values = append(c.Values, n)
		case authcube.FieldCreatedAt, authcube.FieldUpdatedAt, authcube.FieldLastRequestAt:
			t, err := parseTime(v)
			if err != nil {
				return authcube.Cond{}, invalidField(name, err.Error())
			}
			c.Values = append(c.Values, t)
		default:
			c.Values = append(c.Values, v)
		}
	}
	return c, nil
}

// listOp reports whether op takes a list of values.
func listOp(op authcube.Op) bool {
	return op == authcube.OpIn || op == authcube.OpNin || op == authcube.OpAll
}

// defaultV2Limit is the page size of /users/v2.json without limit: ConnectyCube answers
// 100 items when the SDK sends no limit.
const defaultV2Limit = 100

// v2Query maps the parameters of /users/v2.json onto a UserQuery: field=v or field[op]=v or
// field[op][]=v…, limit, offset, sort_asc=field or sort_desc=field. Unknown fields and
// operators are 422.
func (h *handler) v2Query(q url.Values) (authcube.UserQuery, error) {
	uq := authcube.UserQuery{Limit: defaultV2Limit}
	var err error
	if uq.Offset, err = intParam(q, "offset", "skip"); err != nil {
		return uq, err
	}
	if q.Get("limit") != "" {
		if uq.Limit, err = intParam(q, "limit"); err != nil {
			return uq, err
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		base, subs := splitKey(k)
		vals := q[k]
		switch base {
		case "limit", "offset", "skip":
			continue
		case "sort_asc", "sort_desc":
			if uq.Sort != "" {
				return uq, invalidField(base, "give one of sort_asc and sort_desc")
			}
			f, err := field(strings.TrimSpace(vals[0]))
			if err != nil {
				return uq, err
			}
			if h.hidden(f) {
				return uq, invalidField(base, "cannot sort on other users' "+vals[0])
			}
			uq.Sort, uq.Desc = f, base == "sort_desc"
			continue
		}
		f, err := field(base)
		if err != nil {
			return uq, err
		}
		op, list := authcube.OpEq, false
		switch {
		case len(subs) == 0:
		case len(subs) == 1 && subs[0] == "": // id[]=1&id[]=2
			op, list = authcube.OpIn, true
		case len(subs) <= 2 && (len(subs) == 1 || subs[1] == ""):
			var ok bool
			if op, ok = v2Ops[subs[0]]; !ok {
				return uq, invalidField(base, "unknown operator "+strconv.Quote(subs[0]))
			}
			list = listOp(op)
		default:
			return uq, invalidField(base, "malformed filter "+strconv.Quote(k))
		}
		raw := vals
		if list {
			raw = listValues(vals)
		} else if len(vals) != 1 {
			return uq, invalidField(base, "takes one value with "+string(op))
		}
		c, err := h.cond(base, f, op, raw)
		if err != nil {
			return uq, err
		}
		uq.Where = append(uq.Where, c)
	}
	return uq, nil
}

// legacyQuery maps the parameters of GET /users.json onto a UserQuery: repeated
// filter[]="<type> <field> <op> <value>" (type "number", "string", "boolean" or "date"; list
// values comma-joined; ops lt gt le ge eq ne between in, plus lte gte nin all ctn start_with),
// order="<asc|desc> <type> <field>" (the type token is ignored: the SDK's is wrong), page and
// per_page.
func (h *handler) legacyQuery(q url.Values) (authcube.UserQuery, authcube.Page, error) {
	p, err := legacyPage(q, "page")
	if err != nil {
		return authcube.UserQuery{}, p, err
	}
	uq := authcube.UserQuery{Limit: p.PerPage}
	if uq.Limit == 0 {
		uq.Limit = 10
	}
	if uq.Offset, err = legacyOffset(p, uq.Limit); err != nil {
		return uq, p, err
	}
	filters := grouped(q, "filter")
	if len(filters) > authcube.MaxQueryConds {
		return uq, p, invalidField("filter", fmt.Sprintf("at most %d filters", authcube.MaxQueryConds))
	}
	for _, s := range filters {
		conds, err := h.legacyFilter(s)
		if err != nil {
			return uq, p, err
		}
		uq.Where = append(uq.Where, conds...)
	}
	if len(uq.Where) > authcube.MaxQueryConds { // "between" is two conditions
		return uq, p, invalidField("filter", fmt.Sprintf("at most %d conditions (between counts as two)", authcube.MaxQueryConds))
	}
	if order := strings.Fields(q.Get("order")); len(order) > 0 {
		if len(order) < 2 || (order[0] != "asc" && order[0] != "desc") {
			return uq, p, invalidField("order", `must be "asc|desc <type> <field>"`)
		}
		name := order[len(order)-1]
		f, err := field(name)
		if err != nil {
			return uq, p, err
		}
		if h.hidden(f) {
			return uq, p, invalidField("order", "cannot sort on other users' "+name)
		}
		uq.Sort, uq.Desc = f, order[0] == "desc"
	}
	return uq, p, nil
}

// legacyFilter parses one filter[] value.
func (h *handler) legacyFilter(s string) ([]authcube.Cond, error) {
	parts := strings.SplitN(strings.TrimSpace(s), " ", 4)
	if len(parts) < 4 {
		return nil, invalidField("filter", `must be "<type> <field> <operator> <value>"`)
	}
	name, opName, value := parts[1], parts[2], parts[3]
	f, err := field(name)
	if err != nil {
		return nil, err
	}
	if opName == "between" {
		vals := listValues([]string{value})
		if len(vals) != 2 {
			return nil, invalidField(name, "between takes two comma-separated values")
		}
		lo, err := h.cond(name, f, authcube.OpGte, vals[:1])
		if err != nil {
			return nil, err
		}
		hi, err := h.cond(name, f, authcube.OpLte, vals[1:])
		if err != nil {
			return nil, err
		}
		return []authcube.Cond{lo, hi}, nil
	}
	op, ok := legacyOps[opName]
	if !ok {
		return nil, invalidField(name, "unknown operator "+strconv.Quote(opName))
	}
	raw := []string{value}
	if listOp(op) {
		raw = listValues(raw)
	}
	c, err := h.cond(name, f, op, raw)
	if err != nil {
		return nil, err
	}
	return []authcube.Cond{c}, nil
}

// timeLayouts are the written forms of a time a client may send; JavaScript's String(date)
// ("Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)") is among them, since the
// SDK's serializer turns Date objects into that.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05",
	"2006-01-02 15:04:05 MST", "2006-01-02", "Mon Jan 02 2006 15:04:05 GMT-0700",
}

// parseTime reads Unix seconds (milliseconds above 1e11, as Date.now() gives), or a written
// time in UTC unless it says otherwise.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		if math.Abs(f) > 1e11 {
			f /= 1000
		}
		if math.Abs(f) > 1e11 {
			return time.Time{}, fmt.Errorf("%q is out of range", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	if i := strings.Index(s, " ("); i > 0 { // JavaScript's time zone name
		s = s[:i]
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: give Unix seconds or ISO 8601", s)
}

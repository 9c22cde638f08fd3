package authcube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authcube/authcube/internal/canon"
	"github.com/authcube/authcube/store"
)

// Page selects a page: 1-based Page and PerPage (0 means 10, above 100 means 100), or After, a
// cursor from UserPage.Next, which pages by key at any depth. Page × PerPage is at most
// [MaxPageDepth] (10,000), else ErrInvalid with Field "page"; page by cursor beyond that.
type Page struct {
	Page, PerPage int
	After         string
}

// UserPage is one page of users. Total is exact for unfiltered listing and single-tag queries,
// and counted up to 10,000 otherwise. Page is 0 for a page fetched by cursor (its depth is not
// known).
type UserPage struct {
	Page, PerPage, Total int
	Users                []User
	Next                 string // cursor for the following page; "" on the last
}

// UserQuery selects users for ListUsers. The zero value lists all users by id, 10 at a time.
//
// A query's cost is bounded (S32): it holds at most [MaxQueryConds] (16) conditions, else
// ErrInvalid with Field "where"; a Contains or StartsWith value is at most [MaxSearchLen] (64)
// characters, else ErrInvalid naming the field; and it runs within Config.QueryTimeout (1s by
// default), counted from when it is handed to the store (waiting for a read connection
// included). A query still running then is interrupted, its read connection freed, and the
// caller gets ErrInvalid with Field "where": narrow the query with more selective conditions.
// The caller's own ctx ending first is an internal error ("request cancelled"), as everywhere.
type UserQuery struct {
	Where  []Cond // all must hold
	Sort   Field  // "" means FieldID
	Desc   bool
	Limit  int    // 0 means 10; above 100 means 100
	Offset int    // at most MaxPageDepth (10,000); use After beyond
	After  string // cursor from UserPage.Next; Offset must then be 0
}

// Field names a user field in a [UserQuery]: the REST names, so the REST facade passes them
// through after validation.
type Field string

// The fields of [UserQuery].
const (
	FieldID            Field = "id"
	FieldLogin         Field = "login"
	FieldEmail         Field = "email"
	FieldFullName      Field = "full_name"
	FieldPhone         Field = "phone"
	FieldWebsite       Field = "website"
	FieldExternalID    Field = "external_id"
	FieldTags          Field = "user_tags"
	FieldCreatedAt     Field = "created_at"
	FieldUpdatedAt     Field = "updated_at"
	FieldLastRequestAt Field = "last_request_at"
)

// Op is the operator of a [Cond].
type Op string

// The operators of [Cond].
const (
	OpEq         Op = "eq"
	OpNe         Op = "ne"
	OpLt         Op = "lt"
	OpLte        Op = "lte"
	OpGt         Op = "gt"
	OpGte        Op = "gte"
	OpIn         Op = "in"
	OpNin        Op = "nin"
	OpAll        Op = "all"
	OpContains   Op = "ctn"
	OpStartsWith Op = "start_with"
)

// Cond is one condition. Values: int64 (or int) for id, string for text fields and tags,
// time.Time for the *_at fields; one value for comparisons, one to 1000 for In, Nin and All (All:
// tags only; phones: one to 500, as each is matched with and without its leading "+"). Contains
// and StartsWith apply to login, full_name and website only and take one value of at most
// [MaxSearchLen] characters; Contains on full_name needs at least 3 characters. On tags, Eq
// means "has the tag", Ne "has not", In "any of", Nin "none of", All "all of". Login and email
// compare in their canonical (case-folded) form, phone in its normal form, tags folded.
// Anything else is ErrInvalid naming the field.
type Cond struct {
	Field  Field
	Op     Op
	Values []any
}

// The bounds of a query (S25, S32).
const (
	// MaxQueryConds is the most conditions a UserQuery may hold.
	MaxQueryConds = 16
	// MaxSearchLen is the longest value of a Contains or StartsWith condition, in characters.
	MaxSearchLen = 64
	// MaxPageDepth is how deep paging by number reaches: Page × PerPage and UserQuery.Offset
	// are at most this; page by cursor beyond.
	MaxPageDepth = 10_000
	// DefaultQueryTimeout is the time budget of a query unless Config.QueryTimeout says
	// otherwise.
	DefaultQueryTimeout = time.Second
)

const (
	defaultPerPage = 10
	maxPerPage     = 100
	maxDepth       = MaxPageDepth // Page × PerPage, and Offset
	totalCap       = 10_000
	maxIDs         = 1000
	maxCursorLen   = 2048
)

// fieldKinds lists the fields and how their values are typed.
var fieldKinds = map[Field]string{
	FieldID: "int", FieldLogin: "text", FieldEmail: "text", FieldFullName: "text", FieldPhone: "text",
	FieldWebsite: "text", FieldExternalID: "text", FieldTags: "tags",
	FieldCreatedAt: "time", FieldUpdatedAt: "time", FieldLastRequestAt: "time",
}

// User returns the user with the id, or ErrNotFound. Any live session may look users up.
func (e *Engine) User(ctx context.Context, token string, id int64) (User, error) {
	return e.lookUp(ctx, "user", token, func() (store.User, error) { return e.store.User(ctx, id) })
}

// UserByLogin returns the user whose login is login in any spelling that folds to the same
// canonical form, or ErrNotFound. A malformed login is ErrInvalid.
func (e *Engine) UserByLogin(ctx context.Context, token, login string) (User, error) {
	const op = "user by login"
	_, key, err := canon.Login(login)
	if err != nil {
		return User{}, invalidFrom(op, err)
	}
	return e.lookUp(ctx, op, token, func() (store.User, error) { return e.store.UserByLogin(ctx, key) })
}

// UserByEmail returns the user with the email (compared in canonical form), or ErrNotFound. A
// malformed address is ErrInvalid.
func (e *Engine) UserByEmail(ctx context.Context, token, email string) (User, error) {
	const op = "user by email"
	_, key, err := canon.Email(email)
	if err != nil {
		return User{}, invalidFrom(op, err)
	}
	return e.lookUp(ctx, op, token, func() (store.User, error) { return e.store.UserByEmail(ctx, key) })
}

// UserByPhone returns the oldest user with the phone, compared in normal form ("+44 (27)
// 123-314" is "+4427123314") with or without the leading "+", or ErrNotFound. Phones are not
// unique.
func (e *Engine) UserByPhone(ctx context.Context, token, phone string) (User, error) {
	const op = "user by phone"
	p, err := canon.Phone(phone)
	if err != nil {
		return User{}, invalidFrom(op, err)
	}
	if p == "" {
		return User{}, invalid(op, "phone", "is required")
	}
	return e.lookUp(ctx, op, token, func() (store.User, error) { return e.store.UserByPhone(ctx, p) })
}

// UserByExternalID returns the oldest user with the external id, or ErrNotFound. External ids
// are profile data, not unique.
func (e *Engine) UserByExternalID(ctx context.Context, token, externalID string) (User, error) {
	const op = "user by external id"
	id, err := canon.ExternalID(externalID)
	if err != nil {
		return User{}, invalidFrom(op, err)
	}
	if id == "" {
		return User{}, invalid(op, "external_id", "is required")
	}
	return e.lookUp(ctx, op, token, func() (store.User, error) { return e.store.UserByExternalID(ctx, id) })
}

// lookUp checks the token, then runs a unique look-up.
func (e *Engine) lookUp(ctx context.Context, op, token string, find func() (store.User, error)) (User, error) {
	if err := e.begin(op); err != nil {
		return User{}, err
	}
	defer e.done()
	if _, err := e.live(ctx, op, token); err != nil {
		return User{}, err
	}
	u, err := find()
	if err != nil {
		return User{}, storeErr(op, err)
	}
	return publicUser(u), nil
}

// UsersByIDs returns the users with the ids (at most 1000), ordered by id, one page at a time;
// unknown ids are left out.
func (e *Engine) UsersByIDs(ctx context.Context, token string, ids []int64, p Page) (UserPage, error) {
	const op = "users by ids"
	if len(ids) == 0 {
		return UserPage{}, invalid(op, "ids", "at least one id is required")
	}
	if len(ids) > maxIDs {
		return UserPage{}, invalid(op, "ids", fmt.Sprintf("at most %d ids", maxIDs))
	}
	values := make([]any, len(ids))
	for i, id := range ids {
		values[i] = id
	}
	return e.page(ctx, op, token, []store.Cond{{Field: store.FieldID, Op: store.OpIn, Values: values}}, p)
}

// UsersByFullName returns the users whose full name contains name (3 to [MaxSearchLen]
// characters), without regard to case or accents, ordered by id.
func (e *Engine) UsersByFullName(ctx context.Context, token, name string, p Page) (UserPage, error) {
	const op = "users by full name"
	c, err := normaliseCond(op, Cond{Field: FieldFullName, Op: OpContains, Values: []any{name}})
	if err != nil {
		return UserPage{}, err
	}
	return e.page(ctx, op, token, []store.Cond{c}, p)
}

// UsersByTags returns the users that have any of the tags (compared folded), ordered by id.
// Total is exact for one tag.
func (e *Engine) UsersByTags(ctx context.Context, token string, tags []string, p Page) (UserPage, error) {
	const op = "users by tags"
	values := make([]any, len(tags))
	for i, t := range tags {
		values[i] = t
	}
	c, err := normaliseCond(op, Cond{Field: FieldTags, Op: OpIn, Values: values})
	if err != nil {
		return UserPage{}, err
	}
	return e.page(ctx, op, token, []store.Cond{c}, p)
}

// page runs a page query ordered by id.
func (e *Engine) page(ctx context.Context, op, token string, conds []store.Cond, p Page) (UserPage, error) {
	perPage, offset, err := pageBounds(op, p)
	if err != nil {
		return UserPage{}, err
	}
	q := store.Query{Conds: conds, Sort: store.FieldID, Limit: perPage, Offset: offset}
	up, err := e.run(ctx, op, token, q, p.After)
	if p.After != "" {
		up.Page = 0
	}
	return up, err
}

// pageBounds checks p and returns its page size and offset.
func pageBounds(op string, p Page) (perPage, offset int, err error) {
	if p.PerPage < 0 {
		return 0, 0, invalid(op, "per_page", "must not be negative")
	}
	if p.Page < 0 {
		return 0, 0, invalid(op, "page", "must not be negative")
	}
	perPage = clampLimit(p.PerPage)
	page := max(p.Page, 1)
	if p.After != "" && page > 1 {
		return 0, 0, invalid(op, "page", "give a page or a cursor, not both")
	}
	if page > maxDepth/perPage { // page × perPage > maxDepth, without overflowing
		return 0, 0, invalid(op, "page", fmt.Sprintf("page × per_page must be at most %d; page deeper by cursor", maxDepth))
	}
	return perPage, (page - 1) * perPage, nil
}

// ListUsers returns the users q selects. It reports Page = Offset/Limit + 1 (0 when paging by
// cursor) and PerPage = Limit.
func (e *Engine) ListUsers(ctx context.Context, token string, q UserQuery) (UserPage, error) {
	const op = "list users"
	sq := store.Query{Sort: string(q.Sort), Desc: q.Desc, Offset: q.Offset}
	if q.Sort == "" {
		sq.Sort = store.FieldID
	}
	if _, ok := fieldKinds[Field(sq.Sort)]; !ok {
		return UserPage{}, invalid(op, "sort", "unknown field")
	}
	switch {
	case q.Limit < 0:
		return UserPage{}, invalid(op, "limit", "must not be negative")
	case q.Offset < 0 || q.Offset > maxDepth:
		return UserPage{}, invalid(op, "offset", fmt.Sprintf("must be 0 to %d; page deeper by cursor", maxDepth))
	case q.After != "" && q.Offset != 0:
		return UserPage{}, invalid(op, "offset", "must be 0 with a cursor")
	}
	sq.Limit = clampLimit(q.Limit)
	if len(q.Where) > MaxQueryConds {
		return UserPage{}, invalid(op, "where", fmt.Sprintf("at most %d conditions", MaxQueryConds))
	}
	for _, c := range q.Where {
		sc, err := normaliseCond(op, c)
		if err != nil {
			return UserPage{}, err
		}
		sq.Conds = append(sq.Conds, sc)
	}
	up, err := e.run(ctx, op, token, sq, q.After)
	if q.After != "" {
		up.Page = 0
	}
	return up, err
}

func clampLimit(n int) int {
	switch {
	case n == 0:
		return defaultPerPage
	case n > maxPerPage:
		return maxPerPage
	}
	return n
}

// run checks the token, decodes the cursor and runs q, fetching one more row than the page to
// know whether a next page exists.
func (e *Engine) run(ctx context.Context, op, token string, q store.Query, after string) (UserPage, error) {
	if after != "" {
		key, err := decodeCursor(after, q.Sort, q.Desc)
		if err != nil {
			return UserPage{}, invalid(op, "after", err.Error())
		}
		q.After = key
	}
	if err := e.begin(op); err != nil {
		return UserPage{}, err
	}
	defer e.done()
	if _, err := e.live(ctx, op, token); err != nil {
		return UserPage{}, err
	}
	limit := q.Limit
	q.Limit++
	q.TotalCap = totalCap
	qctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	rows, total, err := e.store.QueryUsers(qctx, q)
	if err != nil {
		if qctx.Err() != nil && ctx.Err() == nil { // the budget ran out, not the caller's ctx
			return UserPage{}, invalid(op, "where", fmt.Sprintf(
				"the query did not finish within its time budget of %v; narrow it with more selective conditions", e.cfg.QueryTimeout))
		}
		return UserPage{}, storeErr(op, err)
	}
	up := UserPage{Page: q.Offset/limit + 1, PerPage: limit, Total: total, Users: make([]User, 0, min(len(rows), limit))}
	for i, u := range rows {
		if i == limit {
			up.Next = encodeCursor(q.Sort, q.Desc, rows[limit-1])
			break
		}
		up.Users = append(up.Users, publicUser(u))
	}
	return up, nil
}

// normaliseCond validates c and converts its values to the store's canonical forms.
func normaliseCond(op string, c Cond) (store.Cond, error) {
	field := string(c.Field)
	kind, ok := fieldKinds[c.Field]
	if !ok {
		return store.Cond{}, invalid(op, "where", "unknown field")
	}
	bad := func(reason string) (store.Cond, error) { return store.Cond{}, invalid(op, field, reason) }
	switch c.Op {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte:
		if len(c.Values) != 1 {
			return bad("takes one value with " + string(c.Op))
		}
		if kind == "tags" && c.Op != OpEq && c.Op != OpNe {
			return bad(string(c.Op) + " does not apply to tags")
		}
	case OpIn, OpNin, OpAll:
		if len(c.Values) == 0 || len(c.Values) > maxIDs {
			return bad(fmt.Sprintf("takes 1 to %d values with %s", maxIDs, c.Op))
		}
		if c.Field == FieldPhone && len(c.Values) > maxIDs/2 {
			// phoneEither matches each phone in two spellings: the store's list has twice as many.
			return bad(fmt.Sprintf("takes 1 to %d phones with %s", maxIDs/2, c.Op))
		}
		if c.Op == OpAll && kind != "tags" {
			return bad("all applies to tags only")
		}
	case OpContains, OpStartsWith:
		if c.Field != FieldLogin && c.Field != FieldFullName && c.Field != FieldWebsite {
			return bad(string(c.Op) + " applies to login, full_name and website only")
		}
		if len(c.Values) != 1 {
			return bad("takes one value with " + string(c.Op))
		}
	default:
		return bad("unknown operator")
	}
	sc := store.Cond{Field: field, Op: string(c.Op), Values: make([]any, len(c.Values))}
	if kind == "tags" {
		tags := make([]string, len(c.Values))
		for i, v := range c.Values {
			s, ok := v.(string)
			if !ok {
				return bad(fmt.Sprintf("tags are strings, not %T", v))
			}
			tags[i] = s
		}
		folded, err := canon.Tags(tags)
		if err != nil {
			return store.Cond{}, invalidFrom(op, err)
		}
		sc.Values = sc.Values[:0]
		for _, t := range folded {
			sc.Values = append(sc.Values, t)
		}
		return sc, nil
	}
	for i, v := range c.Values {
		nv, err := normaliseValue(c.Field, kind, c.Op, v)
		if err != nil {
			return bad(err.Error())
		}
		sc.Values[i] = nv
	}
	if c.Field == FieldPhone {
		sc = phoneEither(sc)
	}
	return sc, nil
}

// phoneEither makes equality on phones ignore the leading "+", as UserByPhone does: the seed
// stores "47802323143" and looks up "+4427123314".
func phoneEither(c store.Cond) store.Cond {
	switch c.Op {
	case store.OpEq:
		c.Op = store.OpIn
	case store.OpNe:
		c.Op = store.OpNin
	case store.OpIn, store.OpNin:
	default:
		return c
	}
	var vs []any
	for _, v := range c.Values {
		digits := strings.TrimPrefix(v.(string), "+")
		vs = append(vs, digits, "+"+digits)
	}
	c.Values = vs
	return c
}

// normaliseValue checks one value's type and brings it to the form the store compares.
func normaliseValue(f Field, kind string, op Op, v any) (any, error) {
	switch kind {
	case "int":
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		}
		return nil, fmt.Errorf("values are integers, not %T", v)
	case "time":
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("values are times, not %T", v)
		}
		return t.UTC().Truncate(time.Millisecond), nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("values are strings, not %T", v)
	}
	if !utf8.ValidString(s) || len(s) > 1024 || strings.ContainsRune(s, 0) {
		return nil, errors.New("values must be valid UTF-8 of at most 1024 bytes, without NUL")
	}
	if (op == OpContains || op == OpStartsWith) && utf8.RuneCountInString(s) > MaxSearchLen {
		return nil, fmt.Errorf("search values are at most %d characters", MaxSearchLen)
	}
	switch f {
	case FieldLogin:
		return canon.Fold(s), nil
	case FieldEmail:
		if _, c, err := canon.Email(s); err == nil {
			return c, nil
		}
		return canon.Fold(s), nil
	case FieldPhone:
		p, err := canon.Phone(s)
		if err != nil {
			return nil, errors.New("is not a phone number")
		}
		return p, nil
	case FieldFullName:
		if op == OpContains && utf8.RuneCountInString(strings.TrimSpace(s)) < 3 {
			return nil, errors.New("search needs at least 3 characters")
		}
		return strings.TrimSpace(s), nil
	}
	return s, nil
}

// cursor is the decoded form of UserPage.Next: the sort it belongs to and the last row's key.
type cursor struct {
	Sort string `json:"s"`
	Desc bool   `json:"d,omitempty"`
	Num  int64  `json:"n,omitempty"`
	Text string `json:"t,omitempty"`
	ID   int64  `json:"i"`
}

func encodeCursor(sort string, desc bool, u store.User) string {
	c := cursor{Sort: sort, Desc: desc, ID: u.ID}
	switch Field(sort) {
	case FieldID:
	case FieldCreatedAt:
		c.Num = u.CreatedAt.UnixMilli()
	case FieldUpdatedAt:
		c.Num = u.UpdatedAt.UnixMilli()
	case FieldLastRequestAt:
		c.Num = u.LastRequestAt.UnixMilli()
	case FieldLogin:
		c.Text = u.LoginCanon
	case FieldEmail:
		c.Text = u.EmailCanon
	case FieldFullName:
		c.Text = u.FullName
	case FieldPhone:
		c.Text = u.Phone
	case FieldWebsite:
		c.Text = u.Website
	case FieldExternalID:
		c.Text = u.ExternalID
	case FieldTags:
		c.Text = strings.Join(u.Tags, ",")
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks that the cursor belongs to this sort and returns its key.
func decodeCursor(s, sort string, desc bool) (*store.Key, error) {
	if len(s) > maxCursorLen {
		return nil, errors.New("malformed cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("malformed cursor")
	}
	var c cursor
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.ID <= 0 {
		return nil, errors.New("malformed cursor")
	}
	if c.Sort != sort || c.Desc != desc {
		return nil, errors.New("cursor belongs to another sort order")
	}
	key := &store.Key{ID: c.ID}
	switch fieldKinds[Field(sort)] {
	case "int":
		key.Value = c.ID
	case "time":
		key.Value = c.Num
	default:
		key.Value = c.Text
	}
	return key, nil
}

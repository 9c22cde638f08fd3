// Package query builds the SQL of the SQLite store's user lists (store.Store.QueryUsers). It is
// a package of its own so that its tests, which need no database, prove the builder alone and
// run in a moment (scripts/mutation.sh runs them once per mutant); the store's tests and its
// fuzz target FuzzBuildUserQuery run what it builds on SQLite.
package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authcube/authcube/internal/unixms"
	"github.com/authcube/authcube/store"
)

// The query builder turns a store.Query into SQL text made only of the constant fragments below
// (S25): fields and operators are looked up in allowlists, every value is a parameter, LIKE
// patterns are escaped, and lists travel as one JSON parameter read with json_each.

// column describes a user field to the builder.
type column struct {
	expr  string // the expression filters and sorts use
	eqCol string // for eq and in: the plain indexed column ("" means expr)
	kind  kind
	like  bool // ctn and start_with allowed
}

type kind int

const (
	kindInt kind = iota
	kindText
	kindTime
	kindTags
)

var columns = map[string]column{
	store.FieldID:            {expr: "u.id", kind: kindInt},
	store.FieldLogin:         {expr: "ifnull(u.login_canon, '')", eqCol: "u.login_canon", kind: kindText, like: true},
	store.FieldEmail:         {expr: "ifnull(u.email_canon, '')", eqCol: "u.email_canon", kind: kindText},
	store.FieldFullName:      {expr: "u.full_name", kind: kindText, like: true},
	store.FieldPhone:         {expr: "u.phone", kind: kindText},
	store.FieldWebsite:       {expr: "u.website", kind: kindText, like: true},
	store.FieldExternalID:    {expr: "u.external_id", kind: kindText},
	store.FieldTags:          {expr: "u.tags", kind: kindTags},
	store.FieldCreatedAt:     {expr: "u.created_at", kind: kindTime},
	store.FieldUpdatedAt:     {expr: "u.updated_at", kind: kindTime},
	store.FieldLastRequestAt: {expr: "u.last_request_at", kind: kindTime},
}

var comparisons = map[string]string{
	store.OpEq: "=", store.OpNe: "<>", store.OpLt: "<", store.OpLte: "<=", store.OpGt: ">", store.OpGte: ">=",
}

// MaxValues caps the values of one condition.
const MaxValues = 1000

// MaxTagArms caps the tags of an "any of" or "all" condition: each is an arm of a compound select.
const MaxTagArms = 100

// ErrInvalid marks a query the builder refuses.
var ErrInvalid = errors.New("sqlite: invalid query")

func queryErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Built is a query ready to run.
type Built struct {
	SQL       string // the page
	Args      []any
	Count     string // reads the total: a counter, or a capped count; "" for none
	CountArgs []any
}

// Builder builds the user queries of one column list.
type Builder struct {
	cols        string // the list's columns: the user columns but the password hash
	colsNoCanon string // the same without the canonical login and email either
}

// NewBuilder returns a Builder whose queries select userColumns, the store's user columns
// qualified by the alias u (u.id, u.login, ...), in the order the store decodes them. Lists
// never need the password hash, so it is selected as NULL: one string less to copy per row;
// the canonical login and email serve only cursors of those sorts, so other sorts select them
// as NULL too.
func NewBuilder(userColumns string) Builder {
	cols := strings.Replace(userColumns, "u.password_hash", "NULL", 1)
	return Builder{
		cols:        cols,
		colsNoCanon: strings.NewReplacer("u.login_canon", "NULL", "u.email_canon", "NULL").Replace(cols),
	}
}

// Build builds the page query of q and, when q.TotalCap > 0, the total query. A query it
// refuses is an error wrapping ErrInvalid.
func (qb Builder) Build(q store.Query) (Built, error) {
	var b Built
	sortName := q.Sort
	if sortName == "" {
		sortName = store.FieldID
	}
	sortCol, ok := columns[sortName]
	if !ok {
		return b, queryErr("unknown sort field")
	}
	if q.Limit < 0 || q.Offset < 0 || q.TotalCap < 0 {
		return b, queryErr("negative limit, offset or total cap")
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}

	from, fromArgs, filter, filterArgs, err := fromWhere(q.Conds, sortName, q.After, q.Desc, q.Limit+q.Offset)
	if err != nil {
		return b, err
	}
	sortExpr := sortCol.expr
	if strings.HasPrefix(from, "(") {
		sortExpr = "t.user_id" // driven by the tag index: its order is the id order
	}
	if q.After != nil {
		frag, args, err := after(sortName, sortCol, q.After, q.Desc)
		if err != nil {
			return b, err
		}
		filter = and(filter, frag)
		filterArgs = append(filterArgs, args...)
	}
	order := " ORDER BY " + sortExpr + dir
	if sortName != store.FieldID {
		order += ", u.id" + dir
	}
	cols := qb.cols
	if sortName != store.FieldLogin && sortName != store.FieldEmail {
		cols = qb.colsNoCanon
	}
	b.SQL = `SELECT ` + cols + ` FROM ` + from + where(filter) + order + ` LIMIT ? OFFSET ?`
	b.Args = append(append(fromArgs, filterArgs...), q.Limit, q.Offset)

	// The total ignores After and Offset: counters where they are exact, else a capped count.
	if q.TotalCap > 0 {
		switch {
		case len(q.Conds) == 0:
			b.Count = `SELECT n FROM counters WHERE name = 'users'`
		case len(q.Conds) == 1 && q.Conds[0].Field == store.FieldTags && len(q.Conds[0].Values) == 1 &&
			(q.Conds[0].Op == store.OpEq || q.Conds[0].Op == store.OpIn || q.Conds[0].Op == store.OpAll):
			b.Count = `SELECT ifnull((SELECT n FROM tag_counts WHERE tag = ?), 0)`
			b.CountArgs = []any{q.Conds[0].Values[0]}
		default:
			if len(q.Conds) == 1 {
				// One condition an index yields: count it there, without reading users.
				sub, args, ok, err := driver(q.Conds[0], store.FieldID, nil, false)
				if err != nil {
					return b, err
				}
				if ok {
					b.Count = `SELECT count(*) FROM (` + sub + ` LIMIT ?)`
					b.CountArgs = append(args, q.TotalCap)
					break
				}
			}
			from, fromArgs, filter, filterArgs, err := fromWhere(q.Conds, sortName, nil, false, q.TotalCap)
			if err != nil {
				return b, err
			}
			b.Count = `SELECT count(*) FROM (SELECT 1 FROM ` + from + where(filter) + ` LIMIT ?)`
			b.CountArgs = append(append(fromArgs, filterArgs...), q.TotalCap)
		}
	}
	return b, nil
}

// fromWhere builds the FROM clause and the conditions. With the id order, a condition that an
// index yields in id order drives the query — "any of these tags" (a UNION of per-tag index
// ranges, each in user id order, merged) or a full-name search (FTS5 returns rowids in order)
// — so a page reads only its rows; when it is the only condition, with the page's limit inside.
func fromWhere(conds []store.Cond, sortName string, key *store.Key, desc bool, limit int) (from string, fromArgs []any, filter string, filterArgs []any, err error) {
	from = "users u"
	for i, c := range conds {
		sub, args, ok, err := driver(c, sortName, key, desc)
		if err != nil {
			return "", nil, "", nil, err
		}
		if !ok {
			continue
		}
		if len(conds) == 1 {
			sub += " LIMIT ?"
			args = append(args, limit)
		}
		from, fromArgs = "("+sub+") t JOIN users u ON u.id = t.user_id", args
		conds = append(append([]store.Cond(nil), conds[:i]...), conds[i+1:]...)
		break
	}
	for _, c := range conds {
		frag, args, err := condition(c)
		if err != nil {
			return "", nil, "", nil, err
		}
		filter = and(filter, frag)
		filterArgs = append(filterArgs, args...)
	}
	return from, fromArgs, filter, filterArgs, nil
}

// driver returns a subquery yielding the user ids of c in id order (column user_id), when an
// index can: tags eq/in and full_name ctn, with the id order only.
func driver(c store.Cond, sortName string, key *store.Key, desc bool) (string, []any, bool, error) {
	if sortName != store.FieldID {
		return "", nil, false, nil
	}
	order := " ORDER BY 1"
	if desc {
		order += " DESC"
	}
	switch {
	case c.Field == store.FieldTags && (c.Op == store.OpEq || c.Op == store.OpIn):
		arms, args, err := tagArms(c.Values, "UNION", key, desc)
		return arms + order, args, err == nil, err
	case c.Field == store.FieldFullName && c.Op == store.OpContains:
		if len(c.Values) != 1 {
			return "", nil, false, queryErr("ctn: one value")
		}
		phrase, err := ftsPhrase(c.Values[0])
		if err != nil {
			return "", nil, false, err
		}
		sub := "SELECT rowid AS user_id FROM users_fts WHERE users_fts MATCH ?"
		args := []any{phrase}
		if key != nil {
			id, ok := key.Value.(int64)
			if !ok {
				return "", nil, false, queryErr("after: id key")
			}
			if desc {
				sub += " AND rowid < ?"
			} else {
				sub += " AND rowid > ?"
			}
			args = append(args, id)
		}
		return sub + order, args, true, nil
	}
	return "", nil, false, nil
}

// ftsPhrase quotes a full-name search as one FTS5 phrase: the trigram tokenizer matches it as
// a substring, without regard to case or accents.
func ftsPhrase(v any) (string, error) {
	s, ok := v.(string)
	switch {
	case !ok:
		return "", queryErr("full_name: text value")
	case strings.ContainsRune(s, 0):
		return "", queryErr("full_name: NUL in a search value") // FTS5 stops at NUL
	case len([]rune(s)) < 3:
		return "", queryErr("full_name: at least 3 characters")
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`, nil
}

func and(filter, frag string) string {
	if filter == "" {
		return frag
	}
	return filter + " AND " + frag
}

func where(filter string) string {
	if filter == "" {
		return ""
	}
	return " WHERE " + filter
}

// condition builds one WHERE fragment.
func condition(c store.Cond) (string, []any, error) {
	col, ok := columns[c.Field]
	if !ok {
		return "", nil, queryErr("unknown field")
	}
	if len(c.Values) == 0 || len(c.Values) > MaxValues {
		return "", nil, queryErr("%s: 1 to %d values", c.Field, MaxValues)
	}
	for _, v := range c.Values {
		if err := checkValue(col.kind, v); err != nil {
			return "", nil, err
		}
	}
	if col.kind == kindTags {
		return tagCondition(c)
	}
	expr := col.expr
	if (c.Op == store.OpEq || c.Op == store.OpIn) && col.eqCol != "" {
		expr = col.eqCol
	}
	if op, ok := comparisons[c.Op]; ok {
		if len(c.Values) != 1 {
			return "", nil, queryErr("%s: one value", c.Op)
		}
		return expr + " " + op + " ?", []any{sqlValue(c.Values[0])}, nil
	}
	switch c.Op {
	case store.OpIn, store.OpNin:
		not := ""
		if c.Op == store.OpNin {
			not = "NOT "
		}
		// One placeholder per value, their count rounded up to a power of two (the last value
		// repeated), so that few statement shapes exist and each stays prepared.
		n := 1
		for n < len(c.Values) {
			n *= 2
		}
		args := make([]any, n)
		for i := range args {
			args[i] = sqlValue(c.Values[min(i, len(c.Values)-1)])
		}
		return expr + " " + not + "IN (?" + strings.Repeat(", ?", n-1) + ")", args, nil
	case store.OpContains, store.OpStartsWith:
		if !col.like || len(c.Values) != 1 {
			return "", nil, queryErr("%s: not for %s", c.Op, c.Field)
		}
		s := c.Values[0].(string)
		if strings.ContainsRune(s, 0) {
			return "", nil, queryErr("%s: NUL in a search value", c.Field) // FTS5 and LIKE stop at NUL
		}
		if c.Field == store.FieldFullName && c.Op == store.OpContains {
			phrase, err := ftsPhrase(s)
			if err != nil {
				return "", nil, err
			}
			return "u.id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ?)", []any{phrase}, nil
		}
		pattern := escapeLike(s) + "%"
		if c.Op == store.OpContains {
			pattern = "%" + pattern
		}
		return expr + ` LIKE ? ESCAPE '\'`, []any{pattern}, nil
	}
	return "", nil, queryErr("unknown operator")
}

// tagCondition builds a condition on the tags.
func tagCondition(c store.Cond) (string, []any, error) {
	switch c.Op {
	case store.OpEq, store.OpIn:
		arms, args, err := tagArms(c.Values, "UNION", nil, false)
		return "u.id IN (" + arms + ")", args, err
	case store.OpAll:
		arms, args, err := tagArms(c.Values, "INTERSECT", nil, false)
		return "u.id IN (" + arms + ")", args, err
	case store.OpNe, store.OpNin:
		list, err := jsonList(c.Values)
		return "u.id NOT IN (SELECT user_id FROM user_tags WHERE tag IN (SELECT value FROM json_each(?)))", []any{list}, err
	}
	return "", nil, queryErr("%s: not for tags", c.Op)
}

// tagArms builds a compound select of per-tag index ranges of user ids, optionally starting
// after a key (ids only: used when the sort is by id).
func tagArms(values []any, compound string, after *store.Key, desc bool) (string, []any, error) {
	if len(values) == 0 || len(values) > MaxTagArms {
		return "", nil, queryErr("user_tags: 1 to %d tags", MaxTagArms)
	}
	arm := "SELECT user_id FROM user_tags WHERE tag = ?"
	var afterID any
	if after != nil {
		id, ok := after.Value.(int64)
		if !ok {
			return "", nil, queryErr("after: id key")
		}
		afterID = id
		if desc {
			arm += " AND user_id < ?"
		} else {
			arm += " AND user_id > ?"
		}
	}
	parts := make([]string, len(values))
	var args []any
	for i, v := range values {
		if _, ok := v.(string); !ok {
			return "", nil, queryErr("user_tags: text values")
		}
		parts[i] = arm
		args = append(args, v)
		if after != nil {
			args = append(args, afterID)
		}
	}
	return strings.Join(parts, " "+compound+" "), args, nil
}

// after builds the keyset condition: strictly after key in the sort order.
func after(sortName string, col column, key *store.Key, desc bool) (string, []any, error) {
	cmp := ">"
	if desc {
		cmp = "<"
	}
	if sortName == store.FieldID {
		return "u.id " + cmp + " ?", []any{key.ID}, nil
	}
	v := key.Value
	switch col.kind {
	case kindTime:
		if _, ok := v.(int64); !ok {
			return "", nil, queryErr("after: time key")
		}
	default:
		if _, ok := v.(string); !ok {
			return "", nil, queryErr("after: text key")
		}
	}
	return "(" + col.expr + " " + cmp + " ? OR (" + col.expr + " = ? AND u.id " + cmp + " ?))", []any{v, v, key.ID}, nil
}

// checkValue checks a value's type against the field's kind.
func checkValue(k kind, v any) error {
	var ok bool
	switch k {
	case kindInt:
		_, ok = v.(int64)
	case kindTime:
		_, ok = v.(time.Time)
	default:
		_, ok = v.(string)
	}
	if !ok {
		return queryErr("value of type %T", v)
	}
	return nil
}

// sqlValue converts a value to what the column holds.
func sqlValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return unixms.Of(t)
	}
	return v
}

// jsonList encodes values as one JSON array parameter.
func jsonList(values []any) (string, error) {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = sqlValue(v)
	}
	b, err := json.Marshal(vs)
	return string(b), err
}

// escapeLike escapes LIKE's wildcards with the escape character '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

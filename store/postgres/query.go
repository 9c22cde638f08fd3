package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

// The query builder turns a store.Query into SQL text made only of the constant fragments below
// (S25): fields and operators are looked up in allowlists, every value is a parameter (a list is
// one array parameter), and LIKE patterns are escaped.

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
	store.FieldLogin:         {expr: "coalesce(u.login_canon, '')", eqCol: "u.login_canon", kind: kindText, like: true},
	store.FieldEmail:         {expr: "coalesce(u.email_canon, '')", eqCol: "u.email_canon", kind: kindText},
	store.FieldFullName:      {expr: "u.full_name", kind: kindText, like: true},
	store.FieldPhone:         {expr: "u.phone", kind: kindText},
	store.FieldWebsite:       {expr: "u.website", kind: kindText, like: true},
	store.FieldExternalID:    {expr: "u.external_id", kind: kindText},
	store.FieldTags:          {expr: `array_to_string(u.tags, ',') COLLATE "C"`, kind: kindTags},
	store.FieldCreatedAt:     {expr: "u.created_at", kind: kindTime},
	store.FieldUpdatedAt:     {expr: "u.updated_at", kind: kindTime},
	store.FieldLastRequestAt: {expr: "u.last_request_at", kind: kindTime},
}

var comparisons = map[string]string{
	store.OpEq: "=", store.OpNe: "<>", store.OpLt: "<", store.OpLte: "<=", store.OpGt: ">", store.OpGte: ">=",
}

// MaxValues caps the values of one condition.
const MaxValues = 1000

// maxTags caps the tags of one condition.
const maxTags = 100

// errQuery marks a query the builder refuses.
var errQuery = errors.New("postgres: invalid query")

func queryErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errQuery}, args...)...)
}

// built is a query ready to run.
type built struct {
	sql   string
	args  []any
	count string // reads the total; "" for none
	cargs []any
}

// buildUserQuery builds the page query and, when q.TotalCap > 0, the total query.
func buildUserQuery(q store.Query) (built, error) {
	var b built
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
	filter, filterArgs, err := conditions(q.Conds)
	if err != nil {
		return b, err
	}
	pageFilter, pageArgs := filter, filterArgs
	if q.After != nil {
		frag, args, err := after(sortName, sortCol, q.After, q.Desc)
		if err != nil {
			return b, err
		}
		pageFilter = and(pageFilter, frag)
		pageArgs = append(append([]any(nil), pageArgs...), args...)
	}
	order := " ORDER BY " + sortCol.expr + dir
	if sortName != store.FieldID {
		order += ", u.id" + dir
	}
	cols := listColumnsU
	if sortName != store.FieldLogin && sortName != store.FieldEmail {
		cols = listColumnsNoCanon
	}
	b.sql = `SELECT ` + cols + ` FROM users u` + where(pageFilter) + order + ` LIMIT ? OFFSET ?`
	b.args = append(pageArgs, q.Limit, q.Offset)

	// The total ignores After and Offset: exact for no condition or one tag, else counted up to
	// TotalCap.
	if q.TotalCap > 0 {
		switch {
		case len(q.Conds) == 0:
			b.count = `SELECT count(*) FROM users`
		case len(q.Conds) == 1 && q.Conds[0].Field == store.FieldTags && len(q.Conds[0].Values) == 1 &&
			(q.Conds[0].Op == store.OpEq || q.Conds[0].Op == store.OpIn || q.Conds[0].Op == store.OpAll):
			b.count = `SELECT count(*) FROM users u` + where(filter)
			b.cargs = filterArgs
		default:
			b.count = `SELECT count(*) FROM (SELECT 1 FROM users u` + where(filter) + ` LIMIT ?) t`
			b.cargs = append(append([]any(nil), filterArgs...), q.TotalCap)
		}
	}
	return b, nil
}

// conditions builds the WHERE conditions of conds, all of which must hold.
func conditions(conds []store.Cond) (string, []any, error) {
	var (
		filter string
		args   []any
	)
	for _, c := range conds {
		frag, a, err := condition(c)
		if err != nil {
			return "", nil, err
		}
		filter = and(filter, frag)
		args = append(args, a...)
	}
	return filter, args, nil
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
		list := listOf(col.kind, c.Values)
		if c.Op == store.OpNin {
			return "NOT (" + expr + " = ANY(?))", []any{list}, nil
		}
		return expr + " = ANY(?)", []any{list}, nil
	case store.OpContains, store.OpStartsWith:
		if !col.like || len(c.Values) != 1 {
			return "", nil, queryErr("%s: not for %s", c.Op, c.Field)
		}
		s := c.Values[0].(string)
		if strings.ContainsRune(s, 0) {
			return "", nil, queryErr("%s: NUL in a search value", c.Field)
		}
		if c.Field == store.FieldFullName && c.Op == store.OpContains {
			// Substring search without regard to case or accents, on the trigram index.
			if len([]rune(s)) < 3 {
				return "", nil, queryErr("full_name: at least 3 characters")
			}
			return `fold(u.full_name) LIKE '%' || fold(?::text) || '%'`, []any{escapeLike(s)}, nil
		}
		pattern := escapeLike(s) + "%"
		if c.Op == store.OpContains {
			pattern = "%" + pattern
		}
		return expr + ` LIKE ?`, []any{pattern}, nil
	}
	return "", nil, queryErr("unknown operator")
}

// tagCondition builds a condition on the tags, on the tags' GIN index.
func tagCondition(c store.Cond) (string, []any, error) {
	if len(c.Values) > maxTags {
		return "", nil, queryErr("user_tags: 1 to %d tags", maxTags)
	}
	tags := listOf(kindTags, c.Values)
	switch c.Op {
	case store.OpEq, store.OpIn:
		return "u.tags && ?::text[]", []any{tags}, nil
	case store.OpAll:
		return "u.tags @> ?::text[]", []any{tags}, nil
	case store.OpNe, store.OpNin:
		return "NOT (u.tags && ?::text[])", []any{tags}, nil
	}
	return "", nil, queryErr("%s: not for tags", c.Op)
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
		return ms(t)
	}
	return v
}

// listOf makes one array parameter of checked values.
func listOf(k kind, values []any) any {
	if k == kindText || k == kindTags {
		l := make([]string, len(values))
		for i, v := range values {
			l[i] = v.(string)
		}
		return l
	}
	l := make([]int64, len(values))
	for i, v := range values {
		l[i] = sqlValue(v).(int64)
	}
	return l
}

// escapeLike escapes LIKE's wildcards with LIKE's default escape character '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// QueryUsers implements [store.Queries].
func (s *Store) QueryUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	b, err := buildUserQuery(q)
	if err != nil {
		return nil, 0, err
	}
	users := make([]store.User, 0, q.Limit)
	err = query(ctx, s.pool, b.sql, b.args, func(r pgx.Rows) error {
		u, err := scanUser(r)
		users = append(users, u)
		return err
	})
	if err != nil {
		return nil, 0, wrap("query users", err)
	}
	total := 0
	if b.count != "" {
		if err := queryRow(ctx, s.pool, b.count, b.cargs...).Scan(&total); err != nil {
			return nil, 0, wrap("count users", err)
		}
	}
	return users, total, nil
}

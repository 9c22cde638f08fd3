package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// custom: plan both statements with their values, never with a cached generic plan. A
	// filter's selectivity depends on its value (a full-name search matches 10 users or 100,000):
	// a generic plan, which PostgreSQL prefers after five runs of a prepared statement when it
	// looks cheaper, walks the id index for a rare name through every user, and evaluates
	// fold(parameter) again at each row it checks; planned with the value, fold() is folded
	// into the pattern and the trigram index is used when the name is rare.
	custom bool
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
	from, fromArgs, filter, filterArgs, err := fromWhere(q.Conds, sortName, q.After, q.Desc, q.Limit+q.Offset)
	if err != nil {
		return b, err
	}
	b.custom = filter != ""
	sortExpr := sortCol.expr
	if from != "users u" {
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
	cols := listColumnsU
	if sortName != store.FieldLogin && sortName != store.FieldEmail {
		cols = listColumnsNoCanon
	}
	b.sql = `SELECT ` + cols + ` FROM ` + from + where(filter) + order + ` LIMIT ? OFFSET ?`
	b.args = append(append(fromArgs, filterArgs...), q.Limit, q.Offset)

	// The total ignores After and Offset: the maintained counters for all users and for one tag
	// (exact), else a count up to TotalCap, as the SQLite store does.
	if q.TotalCap > 0 {
		switch {
		case len(q.Conds) == 0:
			b.count = `SELECT coalesce(sum(n), 0)::bigint FROM user_count`
		case len(q.Conds) == 1 && q.Conds[0].Field == store.FieldTags && len(q.Conds[0].Values) == 1 &&
			(q.Conds[0].Op == store.OpEq || q.Conds[0].Op == store.OpIn || q.Conds[0].Op == store.OpAll):
			if _, _, err := condition(q.Conds[0]); err != nil {
				return b, err
			}
			b.count = `SELECT coalesce(sum(n), 0)::bigint FROM tag_counts WHERE tag = ?`
			b.cargs = []any{q.Conds[0].Values[0]}
		default:
			if len(q.Conds) == 1 {
				// One condition an index yields: count it there, without reading users.
				sub, args, ok, err := driver(q.Conds[0], store.FieldID, nil, false, q.TotalCap)
				if err != nil {
					return b, err
				}
				if ok {
					b.count = `SELECT count(*) FROM (` + sub + `) t`
					b.cargs = args
					break
				}
			}
			from, fromArgs, filter, filterArgs, err := fromWhere(q.Conds, sortName, nil, false, q.TotalCap)
			if err != nil {
				return b, err
			}
			b.count = `SELECT count(*) FROM (SELECT 1 FROM ` + from + where(filter) + ` LIMIT ?) t`
			b.cargs = append(append(fromArgs, filterArgs...), q.TotalCap)
		}
	}
	return b, nil
}

// fromWhere builds the FROM clause and the conditions. With the id order, a tag condition
// "any of these tags" drives the query: the user ids of each tag in id order from user_tags'
// B-tree (see tagArms), so that a page reads only its rows; when it is the only condition, with
// the page's limit inside.
func fromWhere(conds []store.Cond, sortName string, key *store.Key, desc bool, limit int) (from string, fromArgs []any, filter string, filterArgs []any, err error) {
	from = "users u"
	for i, c := range conds {
		lim := -1
		if len(conds) == 1 {
			lim = limit
		}
		sub, args, ok, err := driver(c, sortName, key, desc, lim)
		if err != nil {
			return "", nil, "", nil, err
		}
		if !ok {
			continue
		}
		from, fromArgs = "("+sub+") t JOIN users u ON u.id = t.user_id", args
		conds = append(append([]store.Cond(nil), conds[:i]...), conds[i+1:]...)
		break
	}
	filter, filterArgs, err = conditions(conds)
	return from, fromArgs, filter, filterArgs, err
}

// driver returns a subquery yielding the user ids of c in id order (column user_id), at most
// limit of them (none: limit < 0), when an index can: tags eq and in, with the id order only.
func driver(c store.Cond, sortName string, key *store.Key, desc bool, limit int) (string, []any, bool, error) {
	if sortName != store.FieldID || c.Field != store.FieldTags || (c.Op != store.OpEq && c.Op != store.OpIn) {
		return "", nil, false, nil
	}
	if _, _, err := condition(c); err != nil { // the checks of the values
		return "", nil, false, err
	}
	sub, args := tagArms(c.Values, key, desc, limit)
	return sub, args, true, nil
}

// tagArms builds the union of per-tag index ranges of user ids, in id order, optionally
// starting after a key (ids only: used when the sort is by id) and limited. PostgreSQL does not
// merge the ordered ranges of a UNION, so each arm carries the limit itself: the first limit
// ids of the union are among the first limit ids of each arm.
func tagArms(values []any, key *store.Key, desc bool, limit int) (string, []any) {
	order := " ORDER BY user_id"
	if desc {
		order += " DESC"
	}
	arm := "SELECT user_id FROM user_tags WHERE tag = ?"
	if key != nil {
		if desc {
			arm += " AND user_id < ?"
		} else {
			arm += " AND user_id > ?"
		}
	}
	arm += order
	if limit >= 0 {
		arm += " LIMIT ?"
	}
	var args []any
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = "(" + arm + ")"
		args = append(args, v)
		if key != nil {
			args = append(args, key.ID)
		}
		if limit >= 0 {
			args = append(args, limit)
		}
	}
	if len(parts) == 1 {
		return arm, args
	}
	sub := strings.Join(parts, " UNION ") + order
	if limit >= 0 {
		sub += " LIMIT ?"
		args = append(args, limit)
	}
	return sub, args
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
			return `u.full_name_fold LIKE '%' || fold(?::text) || '%'`, []any{escapeLike(s)}, nil
		}
		pattern := escapeLike(s) + "%"
		if c.Op == store.OpContains {
			pattern = "%" + pattern
		}
		return expr + ` LIKE ?`, []any{pattern}, nil
	}
	return "", nil, queryErr("unknown operator")
}

// tagCondition builds a condition on the tags: from user_tags for those that hold (a probe of
// its B-tree, or semi-joins the planner may merge in id order), from the row's own tags for
// those that must not (a test of the row at hand).
func tagCondition(c store.Cond) (string, []any, error) {
	if len(c.Values) > maxTags {
		return "", nil, queryErr("user_tags: 1 to %d tags", maxTags)
	}
	tags := listOf(kindTags, c.Values).([]string)
	switch c.Op {
	case store.OpEq, store.OpIn:
		return hasTag + "ANY(?::text[]))", []any{tags}, nil
	case store.OpAll:
		distinct := slices.Compact(slices.Sorted(slices.Values(tags)))
		if len(distinct) > maxAllJoins {
			return "u.id IN (SELECT user_id FROM user_tags WHERE tag = ANY(?::text[]) GROUP BY user_id HAVING count(*) = ?)",
				[]any{distinct, len(distinct)}, nil
		}
		frags := make([]string, len(distinct))
		args := make([]any, len(distinct))
		for i, tag := range distinct {
			frags[i], args[i] = hasTag+"?)", tag
		}
		return strings.Join(frags, " AND "), args, nil
	case store.OpNe, store.OpNin:
		return "NOT (u.tags && ?::text[])", []any{tags}, nil
	}
	return "", nil, queryErr("%s: not for tags", c.Op)
}

// hasTag begins the test that user u has a tag: "= ANY(...))" or "= ?)" completes it.
const hasTag = "EXISTS (SELECT 1 FROM user_tags WHERE user_id = u.id AND tag = "

// maxAllJoins caps the tags of an "all" condition written as one semi-join each (which the
// planner joins in the best order, merging index ranges in id order); more, and it would
// search join orders at length: they are counted per user instead.
const maxAllJoins = 8

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
	if b.custom {
		// An unnamed statement, planned with the values at each run (one round trip).
		b.args = append([]any{pgx.QueryExecModeExec}, b.args...)
		b.cargs = append([]any{pgx.QueryExecModeExec}, b.cargs...)
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

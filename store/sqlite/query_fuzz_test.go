package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite/internal/query"
)

// S25: the query builder puts no value into SQL text, takes fields, operators and sorts from
// allowlists only, and builds SQL that SQLite accepts.

var (
	fuzzFields = []string{
		store.FieldID, store.FieldLogin, store.FieldEmail, store.FieldFullName, store.FieldPhone,
		store.FieldWebsite, store.FieldExternalID, store.FieldTags, store.FieldCreatedAt,
		store.FieldUpdatedAt, store.FieldLastRequestAt,
	}
	fuzzOps = []string{
		store.OpEq, store.OpNe, store.OpLt, store.OpLte, store.OpGt, store.OpGte, store.OpIn,
		store.OpNin, store.OpAll, store.OpContains, store.OpStartsWith,
	}
)

func allowed(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pick returns list[sel] when sel indexes the list, else raw (arbitrary bytes from the fuzzer).
func pick(sel uint64, list []string, raw string) string {
	if int(sel) < len(list) {
		return list[sel]
	}
	return raw
}

// bits returns n bits of x from bit i.
func bits(x uint64, i, n uint) uint64 { return x >> i & (1<<n - 1) }

// fuzzQuery derives a store.Query from the fuzzer's inputs. shape packs the choices:
//
//	0-3 field, 4-7 op, 8-11 sort (11: "", 12-15: raw), 12-13 number of conditions,
//	14-15 value types (0: the field's own, 1: string, 2: int64, 3: time.Time),
//	16-17 number of values (1, 2, 3, none), 18 After set, 19-20 After value type,
//	21-24 and 25-28 field and op of the 2nd condition, 29-32 and 33-36 of the 3rd,
//	37 a long value list, 38 TotalCap kept.
//
// The raw field, op and sort of the 2nd and 3rd conditions are the value strings, so a value
// also turns up where a name is expected.
func fuzzQuery(shape uint64, field, op, sortName, v1, v2, v3 string, n int64, limit, offset, totalCap int, desc bool, keyText string, keyID int64) store.Query {
	strs := []string{v1, v2, v3}
	tm := time.UnixMilli(n).UTC()
	value := func(f string, i int) any {
		switch bits(shape, 14, 2) {
		case 1:
			return strs[i%3]
		case 2:
			return n + int64(i)
		case 3:
			return tm.Add(time.Duration(i) * time.Millisecond)
		}
		switch f {
		case store.FieldID:
			return n + int64(i)
		case store.FieldCreatedAt, store.FieldUpdatedAt, store.FieldLastRequestAt:
			return tm.Add(time.Duration(i) * time.Millisecond)
		}
		return strs[i%3]
	}
	nvals := [4]int{1, 2, 3, 0}[bits(shape, 16, 2)]
	if bits(shape, 37, 1) == 1 {
		nvals = query.MaxTagArms + 1
		if n%2 == 0 {
			nvals = MaxValues + 1
		}
	}
	cond := func(f, o string) store.Cond {
		c := store.Cond{Field: f, Op: o}
		for i := range nvals {
			c.Values = append(c.Values, value(f, i))
		}
		return c
	}
	q := store.Query{Desc: desc, Limit: limit, Offset: offset}
	if bits(shape, 38, 1) == 1 {
		q.TotalCap = totalCap
	}
	switch sel := bits(shape, 8, 4); {
	case sel < uint64(len(fuzzFields)):
		q.Sort = fuzzFields[sel]
	case sel == uint64(len(fuzzFields)):
		q.Sort = ""
	default:
		q.Sort = sortName
	}
	specs := [][2]string{
		{pick(bits(shape, 0, 4), fuzzFields, field), pick(bits(shape, 4, 4), fuzzOps, op)},
		{pick(bits(shape, 21, 4), fuzzFields, v2), pick(bits(shape, 25, 4), fuzzOps, v3)},
		{pick(bits(shape, 29, 4), fuzzFields, v3), pick(bits(shape, 33, 4), fuzzOps, v1)},
	}
	for i := range int(bits(shape, 12, 2)) {
		q.Conds = append(q.Conds, cond(specs[i][0], specs[i][1]))
	}
	if bits(shape, 18, 1) == 1 {
		key := &store.Key{ID: keyID}
		switch bits(shape, 19, 2) {
		case 0:
			key.Value = n
		case 1:
			key.Value = keyText
		case 2:
			key.Value = tm
		}
		q.After = key
	}
	return q
}

// sanitise returns q with every value replaced by one of the same type (strings by as many
// 'x' as they have runes, numbers by 1 of their sign): the SQL text must not change.
func sanitise(q store.Query) store.Query {
	v := func(x any) any {
		switch x := x.(type) {
		case string:
			return strings.Repeat("x", utf8.RuneCountInString(x))
		case int64:
			return sign(x)
		case time.Time:
			return time.UnixMilli(1).UTC()
		}
		return x
	}
	out := q
	out.Limit, out.Offset, out.TotalCap = int(sign(int64(q.Limit))), int(sign(int64(q.Offset))), int(sign(int64(q.TotalCap)))
	out.Conds = nil
	for _, c := range q.Conds {
		sc := store.Cond{Field: c.Field, Op: c.Op}
		for _, x := range c.Values {
			sc.Values = append(sc.Values, v(x))
		}
		out.Conds = append(out.Conds, sc)
	}
	if q.After != nil {
		out.After = &store.Key{Value: v(q.After.Value), ID: sign(q.After.ID)}
	}
	return out
}

func sign(x int64) int64 {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// sqlVocabulary is every word the builder may write; sqlLiterals every string literal.
var (
	sqlVocabulary = map[string]bool{}
	sqlLiterals   = map[string]bool{`''`: true, `'users'`: true, `'\'`: true}
	sqlNumbers    = map[string]bool{"0": true, "1": true}
)

func init() {
	for _, w := range strings.Fields(`SELECT AS NULL FROM WHERE AND OR NOT IN ORDER BY ASC DESC LIMIT OFFSET
		UNION INTERSECT JOIN ON LIKE ESCAPE MATCH count ifnull json_each value n name tag user_id
		user_tags users u t users_fts rowid counters tag_counts id login login_canon email
		email_canon password_hash full_name phone website external_id tags custom_data avatar_uid
		created_at updated_at last_request_at disabled email_verified_at`) {
		sqlVocabulary[w] = true
	}
}

// checkSQL checks that text is made of the builder's vocabulary only and returns its number of
// placeholders.
func checkSQL(t *testing.T, text string) int {
	t.Helper()
	placeholders := 0
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == '?':
			placeholders++
			i++
		case c == '\'':
			j := strings.IndexByte(text[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated literal in %q", text)
			}
			lit := text[i : i+j+2]
			if !sqlLiterals[lit] {
				t.Fatalf("literal %s in %q", lit, text)
			}
			i += j + 2
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(text) && (text[j] == '_' || unicode.IsLetter(rune(text[j])) || unicode.IsDigit(rune(text[j]))) {
				j++
			}
			if !sqlVocabulary[text[i:j]] {
				t.Fatalf("word %q in %q", text[i:j], text)
			}
			i = j
		case unicode.IsDigit(rune(c)):
			j := i
			for j < len(text) && unicode.IsDigit(rune(text[j])) {
				j++
			}
			if !sqlNumbers[text[i:j]] {
				t.Fatalf("number %q in %q", text[i:j], text)
			}
			i = j
		case strings.IndexByte("(),.=<>*", c) >= 0:
			i++
		default:
			t.Fatalf("byte %q in %q", c, text)
		}
	}
	return placeholders
}

// openFuzzStore opens a store with a few users for the built queries to run against.
func openFuzzStore(f *testing.F) *Store {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), Options{ReadConns: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, u := range []store.User{
		{Login: "alice", LoginCanon: "alice", Email: "a@example.com", EmailCanon: "a@example.com", FullName: "Zoë Ångström", Phone: "14155550100", Tags: []string{"red", "blue"}},
		{Login: "bob", LoginCanon: "bob", FullName: "100% Cotton", Website: `https://x.example/a\b`, ExternalID: "42", Tags: []string{"red"}},
		{EmailCanon: "carol@example.com", Email: "carol@example.com", FullName: `Kim "The" O'Brien`},
	} {
		u.CreatedAt, u.UpdatedAt, u.LastRequestAt = t0.Add(time.Duration(i)*time.Minute), t0, t0
		if _, err := s.CreateUser(ctx, u); err != nil {
			f.Fatal(err)
		}
	}
	return s
}

func FuzzBuildUserQuery(f *testing.F) {
	s := openFuzzStore(f)

	const (
		conds1 = 1 << 12
		conds2 = 2 << 12
		conds3 = 3 << 12
		after  = 1 << 18
		total  = 1 << 38
	)
	field := func(i uint64) uint64 { return i }
	op := func(i uint64) uint64 { return i << 4 }
	sortBy := func(i uint64) uint64 { return i << 8 }
	field2 := func(i uint64) uint64 { return i << 21 }
	op2 := func(i uint64) uint64 { return i << 25 }
	values := func(i uint64) uint64 { return i << 16 } // 0: 1, 1: 2, 2: 3, 3: none
	keyKind := func(i uint64) uint64 { return i << 19 }
	raw := uint64(15)

	// Valid queries, one shape each.
	for fi := range uint64(len(fuzzFields)) {
		for oi := range uint64(len(fuzzOps)) {
			f.Add(conds1|field(fi)|op(oi)|sortBy(fi)|total, "", "", "", "zoe", "red", "alice", int64(1), 10, 0, 100, false, "", int64(0))
		}
	}
	f.Add(uint64(conds1|field(7)|op(0)|total), "", "", "", "red", "", "", int64(0), 10, 5, 100, true, "", int64(0))                                    // one tag: counter
	f.Add(uint64(conds2|field(7)|op(6)|values(1)|field2(1)|op2(4)|after|total), "", "", "", "red", "blue", "b", int64(2), 3, 0, 5, true, "", int64(2)) // tags in, driven, with a key
	f.Add(uint64(conds1|field(3)|op(9)|sortBy(3)|after|keyKind(1)|total), "", "", "", "Zoë", "", "", int64(0), 3, 0, 5, false, "Zoë Ångström", int64(1))
	f.Add(uint64(conds1|field(8)|op(2)|sortBy(8)|after|keyKind(0)), "", "", "", "", "", "", int64(1767323045000), 3, 0, 0, true, "", int64(2))
	f.Add(uint64(sortBy(11)|total), "", "", "", "", "", "", int64(0), 0, 0, 1, false, "", int64(0)) // no condition
	f.Add(uint64(conds3|field(7)|op(8)|field2(7)|op2(7)|values(2)), "", "", "", "red", "blue", "green", int64(0), 10, 0, 0, false, "", int64(0))
	f.Add(uint64(conds1|field(7)|op(6)|1<<37), "", "", "", "a", "b", "c", int64(1), 10, 0, 0, false, "", int64(0)) // too many tags
	f.Add(uint64(conds1|field(0)|op(6)|1<<37), "", "", "", "", "", "", int64(2), 10, 0, 0, false, "", int64(0))    // too many values

	// Hostile names and values.
	for _, h := range []string{
		"id; DROP TABLE users", "id' OR '1'='1", `"id"`, "u.id", "ID", "eq; --", "1=1", "password_hash",
		"%", "_", `\`, "\x00", "id\x00", "'", `"`, "?", "?1", "--", "/*", ")", "'; DELETE FROM sessions; --",
		strings.Repeat("a", 300), "Zoë\u202e", "\xff\xfe",
	} {
		f.Add(uint64(conds1|field(raw)|op(0)), h, "eq", "", h, h, h, int64(0), 10, 0, 0, false, h, int64(0))
		f.Add(uint64(conds1|field(1)|op(raw)), "", h, "", h, h, h, int64(0), 10, 0, 0, false, h, int64(0))
		f.Add(uint64(sortBy(raw)), "", "", h, h, h, h, int64(0), 10, 0, 0, false, h, int64(0))
		f.Add(uint64(conds2|field(1)|op(9)|field2(raw)|op2(raw)|total), "", "", "", h, h, h, int64(0), 10, 0, 5, false, h, int64(0))
		for fi := range uint64(len(fuzzFields)) {
			for _, oi := range []uint64{0, 6, 9, 10} {
				f.Add(conds1|field(fi)|op(oi)|sortBy(fi)|after|keyKind(1)|total, "", "", "", h, h, h, int64(-1), 10, 0, 5, true, h, int64(1))
			}
		}
	}
	f.Add(uint64(conds1|field(0)|op(0)), "", "", "", "", "", "", int64(0), -1, 0, 0, false, "", int64(0))               // negative limit
	f.Add(uint64(conds1|field(0)|op(0)|total), "", "", "", "", "", "", int64(0), 1<<62, 1<<62, -1, false, "", int64(0)) // overflowing limit + offset

	f.Fuzz(func(t *testing.T, shape uint64, field, op, sortName, v1, v2, v3 string, n int64, limit, offset, totalCap int, desc bool, keyText string, keyID int64) {
		q := fuzzQuery(shape, field, op, sortName, v1, v2, v3, n, limit, offset, totalCap, desc, keyText, keyID)
		b, err := userQueries.Build(q)

		// Names outside the allowlists are always refused.
		unknown := q.Sort != "" && !allowed(fuzzFields, q.Sort)
		for _, c := range q.Conds {
			unknown = unknown || !allowed(fuzzFields, c.Field) || !allowed(fuzzOps, c.Op)
		}
		if unknown && err == nil {
			t.Fatalf("query with a name outside the allowlists was built: %+v\n%s", q, b.SQL)
		}
		if (q.Limit < 0 || q.Offset < 0 || q.TotalCap < 0) && err == nil {
			t.Fatalf("negative limit, offset or total cap was built: %+v", q)
		}
		if err != nil {
			return
		}

		// The text is the builder's own: its vocabulary only, the same for any values of the
		// same types, one placeholder per argument.
		if got := checkSQL(t, b.SQL); got != len(b.Args) {
			t.Fatalf("%d placeholders, %d args: %q", got, len(b.Args), b.SQL)
		}
		if b.Count != "" {
			if got := checkSQL(t, b.Count); got != len(b.CountArgs) {
				t.Fatalf("count: %d placeholders, %d args: %q", got, len(b.CountArgs), b.Count)
			}
		}
		if (b.Count != "") != (q.TotalCap > 0) {
			t.Fatalf("count query %q for total cap %d", b.Count, q.TotalCap)
		}
		sb, err := userQueries.Build(sanitise(q))
		if err != nil {
			t.Fatalf("the same query with other values is refused: %v", err)
		}
		if sb.SQL != b.SQL || sb.Count != b.Count {
			t.Fatalf("the SQL text depends on the values:\n%s\n%s", b.SQL, sb.SQL)
		}
		for _, v := range []string{field, op, sortName, v1, v2, v3, keyText} {
			if len(v) >= 4 && strings.Contains(b.SQL+b.Count, v) && !strings.Contains(sb.SQL+sb.Count, v) {
				t.Fatalf("value %q is in the SQL text %q", v, b.SQL)
			}
		}

		// SQLite accepts it, on the store's own read path.
		ctx := context.Background()
		if err := s.read(ctx, b.SQL, b.Args, func(r row) error { userOf(r); return nil }); err != nil {
			t.Fatalf("query %#v: %v\n%s", q.Conds, err, b.SQL)
		}
		if b.Count != "" {
			var total int
			if err := s.readRow(ctx, b.Count, b.CountArgs, scanInto(&total)); err != nil {
				t.Fatalf("count %#v: %v\n%s", q.Conds, err, b.Count)
			}
			if total < 0 {
				t.Fatalf("count %+v: %d", q, total)
			}
		}
	})
}

package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/postgres"
)

// The tag table and the counters of migration 6 must equal, after every kind of user write,
// what users.tags says: the (tag, user) rows, each tag's count, the number of users.

// openIn opens a store in a fresh schema and returns it with a connection searching that schema.
func openIn(t *testing.T, version int) (*postgres.Store, *pgx.Conn, string) {
	t.Helper()
	url := testURL(t)
	schema := freshSchema(t, url)
	s, err := postgres.OpenAtVersion(t.Context(), postgres.Config{URL: url, Schema: schema, MaxConns: 8}, version)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	cfg.RuntimeParams["search_path"] = schema
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return s, conn, schema
}

// requireCountsTrue checks user_tags and the counters against users.tags, and the Totals that
// QueryUsers reads from the counters against the users it lists.
func requireCountsTrue(t *testing.T, s *postgres.Store, conn *pgx.Conn) {
	t.Helper()
	ctx := t.Context()
	counts := func(q string) map[string]int64 {
		rows, err := conn.Query(ctx, q)
		require.NoError(t, err)
		m, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
			tag string
			n   int64
		}, error) {
			var v struct {
				tag string
				n   int64
			}
			return v, r.Scan(&v.tag, &v.n)
		})
		require.NoError(t, err)
		out := map[string]int64{}
		for _, v := range m {
			if v.n != 0 {
				out[v.tag] = v.n
			}
		}
		return out
	}
	truth := counts(`SELECT t, count(DISTINCT u.id) FROM users u, unnest(u.tags) t GROUP BY t`)
	require.Equal(t, truth, counts(`SELECT tag, sum(n)::bigint FROM tag_counts GROUP BY tag`), "tag_counts")
	require.Equal(t, truth, counts(`SELECT tag, count(*) FROM user_tags GROUP BY tag`), "user_tags")
	var stray int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM (
		(SELECT tag, user_id FROM user_tags EXCEPT SELECT DISTINCT t, u.id FROM users u, unnest(u.tags) t)
		UNION ALL
		(SELECT DISTINCT t, u.id FROM users u, unnest(u.tags) t EXCEPT SELECT tag, user_id FROM user_tags)) x`).Scan(&stray))
	require.Zero(t, stray, "user_tags rows that users.tags does not hold, or the reverse")
	var users, counted int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT coalesce(sum(n), 0)::bigint FROM user_count)`).Scan(&users, &counted))
	require.Equal(t, users, counted, "user_count")

	// Through the public API: Total (from the counters) equals the users listed.
	all, total, err := s.QueryUsers(ctx, store.Query{Limit: 100_000, TotalCap: 10_000})
	require.NoError(t, err)
	require.Equal(t, len(all), total, "Total of all users")
	for tag, n := range truth {
		for _, op := range []string{store.OpEq, store.OpIn, store.OpAll} {
			got, total, err := s.QueryUsers(ctx, store.Query{
				Conds: []store.Cond{{Field: store.FieldTags, Op: op, Values: []any{tag}}}, Limit: 100_000, TotalCap: 10_000,
			})
			require.NoError(t, err)
			require.Len(t, got, int(n), "users with %q (%s)", tag, op)
			require.Equal(t, int(n), total, "Total of %q (%s)", tag, op)
		}
	}
}

var tagSet = []string{"hot", "web", "beta", "vip"}

// someTags draws 0 to 3 tags, in any order, sometimes repeating one.
func someTags(r *rand.Rand) []string {
	var tags []string
	for range r.IntN(4) {
		tags = append(tags, tagSet[r.IntN(len(tagSet))])
	}
	if len(tags) > 0 && r.IntN(2) == 0 {
		tags = append(tags, "hot")
	}
	return tags
}

func newUser(r *rand.Rand, name string) store.User {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return store.User{Login: name, LoginCanon: name, FullName: "User " + name, Tags: someTags(r),
		CreatedAt: at, UpdatedAt: at, LastRequestAt: at}
}

// Every writer of tags keeps the counters true: CreateUser, UpdateUser, AdminUpdateUser (the
// shared SET list), a change that leaves the tags alone, DeleteUser, AdminDeleteUser and
// InsertUsers (an import, with conflicts).
func TestTagCountersFollowWrites(t *testing.T) {
	s, conn, _ := openIn(t, postgres.SchemaVersion())
	ctx := t.Context()
	r := rand.New(rand.NewPCG(15, 6))
	requireCountsTrue(t, s, conn)

	var ids []int64
	for i := range 20 {
		id, err := s.CreateUser(ctx, newUser(r, fmt.Sprint("u", i)))
		require.NoError(t, err)
		ids = append(ids, id)
	}
	requireCountsTrue(t, s, conn)

	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range ids[:10] {
		tags := someTags(r)
		_, _, err := s.AdminUpdateUser(ctx, store.UserChange{UserID: id, UpdatedAt: at, Tags: &tags})
		require.NoError(t, err)
		name := fmt.Sprint("renamed ", i) // tags untouched
		_, _, err = s.AdminUpdateUser(ctx, store.UserChange{UserID: id, UpdatedAt: at, FullName: &name})
		require.NoError(t, err)
	}
	requireCountsTrue(t, s, conn)

	// UpdateUser and DeleteUser act for a session of the user.
	for i, id := range ids[10:15] {
		se := store.Session{TokenHash: [32]byte{byte(i + 1)}, ID: fmt.Sprint("s", i), AppID: 1, UserID: id,
			Provider: "password", CreatedAt: at, SignedInAt: at, LastRequestAt: at}
		require.NoError(t, s.CreateSession(ctx, se, ""))
		tags := someTags(r)
		_, _, err := s.UpdateUser(ctx, store.UserChange{UserID: id, SessionHash: se.TokenHash, UpdatedAt: at, Tags: &tags})
		require.NoError(t, err)
		if i%2 == 0 {
			_, err = s.DeleteUser(ctx, se.TokenHash, id)
			require.NoError(t, err)
		}
	}
	requireCountsTrue(t, s, conn)

	for _, id := range ids[15:] {
		_, err := s.AdminDeleteUser(ctx, id)
		require.NoError(t, err)
	}
	requireCountsTrue(t, s, conn)

	var batch []store.User
	for i := range 30 {
		u := newUser(r, fmt.Sprint("imported", i))
		if i%3 == 0 {
			u.ID = 1000 + int64(i)
		}
		batch = append(batch, u)
	}
	batch = append(batch, newUser(r, "u1"))         // a conflict: inserts nothing
	batch = append(batch, newUser(r, "imported29")) // the same again
	_, err := s.InsertUsers(ctx, batch, false)
	require.NoError(t, err)
	requireCountsTrue(t, s, conn)

	// By hand: TRUNCATE, which fires no DELETE trigger.
	_, err = conn.Exec(ctx, `TRUNCATE users CASCADE`)
	require.NoError(t, err)
	requireCountsTrue(t, s, conn)
	_, err = s.CreateUser(ctx, newUser(r, "after truncate"))
	require.NoError(t, err)
	requireCountsTrue(t, s, conn)
}

// Many writers at once, with a tag every writer touches ("hot"): creations, tag changes, deletions
// and imports from several goroutines. The counters stay true; no write fails (a deadlock
// between two writers of one stripe is retried by the store).
func TestTagCountersConcurrentWriters(t *testing.T) {
	s, conn, _ := openIn(t, postgres.SchemaVersion())
	ctx := t.Context()
	const writers, rounds = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			var mine []int64
			for i := range rounds {
				var err error
				switch op := r.IntN(4); {
				case op == 0 || len(mine) == 0:
					var id int64
					id, err = s.CreateUser(ctx, newUser(r, fmt.Sprintf("w%d-%d", w, i)))
					mine = append(mine, id)
				case op == 1:
					tags := append(someTags(r), "hot")
					_, _, err = s.AdminUpdateUser(ctx, store.UserChange{UserID: mine[r.IntN(len(mine))], UpdatedAt: at, Tags: &tags})
				case op == 2:
					k := r.IntN(len(mine))
					_, err = s.AdminDeleteUser(ctx, mine[k])
					mine = slices.Delete(mine, k, k+1)
				default:
					var res []store.ImportResult
					res, err = s.InsertUsers(ctx, []store.User{
						newUser(r, fmt.Sprintf("w%d-%d-a", w, i)), newUser(r, fmt.Sprintf("w%d-%d-b", w, i)),
					}, false)
					for _, x := range res {
						mine = append(mine, x.ID)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requireCountsTrue(t, s, conn)
}

// Migration 6 on a schema 5 with users: user_tags and the counters start true, and the tag
// and full-name queries answer as before.
func TestMigrationSixBackfills(t *testing.T) {
	s5, conn, schema := openIn(t, 5)
	ctx := t.Context()
	r := rand.New(rand.NewPCG(6, 6))
	for i := range 40 {
		_, err := s5.CreateUser(ctx, newUser(r, fmt.Sprint("old", i)))
		require.NoError(t, err)
	}
	_, err := s5.CreateUser(ctx, store.User{Login: "x", LoginCanon: "x", FullName: "Zoë Çelik", Tags: []string{"web", "web"},
		CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0), LastRequestAt: time.Unix(1, 0)})
	require.NoError(t, err)
	s5.Close()

	s, err := postgres.Open(ctx, postgres.Config{URL: testURL(t), Schema: schema})
	require.NoError(t, err)
	defer s.Close()
	requireCountsTrue(t, s, conn)
	got, total, err := s.QueryUsers(ctx, store.Query{
		Conds: []store.Cond{{Field: store.FieldFullName, Op: store.OpContains, Values: []any{"zoe cel"}}}, Limit: 10, TotalCap: 10_000,
	})
	require.NoError(t, err)
	require.Equal(t, 1, total)
	require.Len(t, got, 1)
	require.Equal(t, "Zoë Çelik", got[0].FullName)
	require.Equal(t, []string{"web", "web"}, got[0].Tags, "users.tags is kept as given")
}

// The tag conditions answer what users.tags says, page after page by cursor, in both orders:
// any of up to 10 tags (the driver's limited union arms), all of up to 10 (semi-joins up to
// maxAllJoins, counted per user beyond), none of them, and with a second condition.
func TestTagQueriesMatchTags(t *testing.T) {
	s, _, _ := openIn(t, postgres.SchemaVersion())
	ctx := t.Context()
	r := rand.New(rand.NewPCG(15, 15))
	names := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11"}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var users []store.User
	for i := range 300 {
		u := store.User{Login: fmt.Sprint("q", i), LoginCanon: fmt.Sprint("q", i), CreatedAt: at, UpdatedAt: at, LastRequestAt: at}
		for _, tag := range names {
			if r.IntN(10) < 7 { // most users hold most tags, so that "all of 10" finds some
				u.Tags = append(u.Tags, tag)
			}
		}
		if i%7 == 0 {
			u.Tags = nil
		}
		var err error
		u.ID, err = s.CreateUser(ctx, u)
		require.NoError(t, err)
		users = append(users, u)
	}
	for round := range 40 {
		op := []string{store.OpIn, store.OpAll, store.OpNin}[round%3]
		values := make([]any, 1+r.IntN(10))
		for i := range values {
			values[i] = names[r.IntN(len(names))]
		}
		if op == store.OpAll && round%5 == 1 { // beyond maxAllJoins
			values = nil
			for _, tag := range names[:9+round%3] {
				values = append(values, tag)
			}
		}
		conds := []store.Cond{{Field: store.FieldTags, Op: op, Values: values}}
		if round%4 == 3 {
			conds = append(conds, store.Cond{Field: store.FieldLogin, Op: store.OpStartsWith, Values: []any{"q1"}})
		}
		desc := round%2 == 1
		var want []int64
		for _, u := range users {
			n := 0
			for _, v := range slices.Compact(slices.Sorted(slices.Values(anyStrings(values)))) {
				if slices.Contains(u.Tags, v) {
					n++
				}
			}
			distinct := len(slices.Compact(slices.Sorted(slices.Values(anyStrings(values)))))
			ok := map[string]bool{store.OpIn: n > 0, store.OpAll: n == distinct, store.OpNin: n == 0}[op]
			if ok && (len(conds) == 1 || (len(u.LoginCanon) >= 2 && u.LoginCanon[:2] == "q1")) {
				want = append(want, u.ID)
			}
		}
		if desc {
			slices.Reverse(want)
		}
		var got []int64
		q := store.Query{Conds: conds, Limit: 7, Desc: desc, TotalCap: 10_000}
		for {
			page, total, err := s.QueryUsers(ctx, q)
			require.NoError(t, err)
			require.Equal(t, len(want), total, "round %d: Total", round)
			for _, u := range page {
				got = append(got, u.ID)
			}
			if len(page) < q.Limit {
				break
			}
			q.After = &store.Key{Value: page[len(page)-1].ID, ID: page[len(page)-1].ID}
		}
		require.Equal(t, want, got, "round %d: %s %v, desc %v", round, op, values, desc)
	}
}

func anyStrings(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.(string)
	}
	return out
}

// Tags that a text array literal would misread ("null", quotes, backslashes, braces, spaces)
// are matched as themselves, in queries planned with their values (a second condition makes the
// query one) and in those that are not, driven by user_tags (the id order) or filtered by it.
func TestTagQueriesAwkwardTags(t *testing.T) {
	s, _, _ := openIn(t, postgres.SchemaVersion())
	ctx := t.Context()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	awkward := []string{"null", "NULL", `a"b`, `c\d`, "{x}", "sp ace", "e,f"}
	ids := map[string]int64{}
	for i, tag := range awkward {
		login := fmt.Sprint("w", i)
		id, err := s.CreateUser(ctx, store.User{Login: login, LoginCanon: login, Tags: []string{tag}, CreatedAt: at, UpdatedAt: at, LastRequestAt: at})
		require.NoError(t, err)
		ids[tag] = id
	}
	for _, tag := range awkward {
		for _, second := range [][]store.Cond{nil, {{Field: store.FieldLogin, Op: store.OpStartsWith, Values: []any{"w"}}}} {
			for _, op := range []string{store.OpIn, store.OpAll, store.OpNin} {
				conds := append([]store.Cond{{Field: store.FieldTags, Op: op, Values: []any{tag, tag}}}, second...)
				sort := store.FieldID
				if second != nil {
					sort = store.FieldLogin // w0, w1, ... in id order too
				}
				got, total, err := s.QueryUsers(ctx, store.Query{Conds: conds, Sort: sort, Limit: 100, TotalCap: 100})
				require.NoError(t, err)
				var gotIDs []int64
				for _, u := range got {
					gotIDs = append(gotIDs, u.ID)
				}
				want := []int64{ids[tag]}
				if op == store.OpNin {
					want = nil
					for _, other := range awkward {
						if other != tag {
							want = append(want, ids[other])
						}
					}
					slices.Sort(want)
				}
				require.Equal(t, want, gotIDs, "%s %q, second condition %v", op, tag, second != nil)
				require.Equal(t, len(want), total, "%s %q: Total", op, tag)
			}
		}
	}
}

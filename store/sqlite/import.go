package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/internal/usersql"
)

// insertUserOrNothing inserts a user with its id when it has one, and nothing when the id, the
// canonical login or the canonical email is taken.
const insertUserOrNothing = `INSERT INTO users (id, login, login_canon, email, email_canon, password_hash,
	full_name, phone, website, external_id, tags, custom_data, avatar_uid,
	created_at, updated_at, last_request_at, disabled)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`

// importChunk is the most users one INSERT statement of InsertUsers takes (17 parameters
// each, far below SQLite's 32766). A chunk is a power of two, so that a batch of any size
// needs at most log2(importChunk)+1 statement texts, each prepared once per connection.
const importChunk = 1 << importChunkLog

const importChunkLog = 9

// One statement per chunk, not per user, is what makes an import fast: every statement that
// writes a table with triggers opens a statement savepoint, and at every savepoint the
// full-name index (FTS5) writes its pending terms out as a new segment, which it then merges.
// Row by row that was one segment per user and about half of an import's time.
var (
	insertUsersN [importChunkLog + 1]string // insertUsersN[k]: 1<<k users, RETURNING id, login_canon, email_canon
	insertTagsN  [importChunkLog + 1]string // insertTagsN[k]: 1<<k (tag, user_id) rows
)

func init() {
	head, _, _ := strings.Cut(insertUserOrNothing, "VALUES")
	for k := range insertUsersN {
		insertUsersN[k] = head + "VALUES " + values(1<<k, 17) + " ON CONFLICT DO NOTHING RETURNING id, coalesce(login_canon, ''), coalesce(email_canon, '')"
		insertTagsN[k] = "INSERT INTO user_tags (tag, user_id) VALUES " + values(1<<k, 2)
	}
}

// values is n rows of cols parameters: "(?, ?), (?, ?)".
func values(n, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(row+", ", n-1) + row
}

// chunkLen is the largest power of two that is at most n and importChunk, and its log2.
func chunkLen(n int) (int, int) {
	k := 0
	for 1<<(k+1) <= min(n, importChunk) {
		k++
	}
	return 1 << k, k
}

// InsertUsers implements [store.Admin]. Users go in by chunks of one INSERT statement each
// (see importChunk). A chunk in which a user is not inserted because another user has its id,
// login or email, when the call must stop there, is rolled back to its savepoint and inserted
// again one user at a time, so that nothing after the conflict is inserted.
func (s *Store) InsertUsers(ctx context.Context, users []store.User, stopAtConflict bool) ([]store.ImportResult, error) {
	var results []store.ImportResult
	err := s.w.do(ctx, func(tx *wtx) error {
		results = make([]store.ImportResult, 0, len(users))
		for len(users) > 0 {
			n, k := chunkLen(len(users))
			rs, err := insertChunk(tx, users[:n], k, stopAtConflict)
			if err != nil {
				return err
			}
			results = append(results, rs...)
			if stopAtConflict && rs[len(rs)-1].Status == store.ImportConflict {
				return nil // stopped there
			}
			users = users[n:]
		}
		return nil
	})
	return results, wrap("insert users", err)
}

// insertChunk inserts users (1<<k of them) with one statement, then their tags with as few as
// it takes, inside a savepoint.
func insertChunk(tx *wtx, users []store.User, k int, stopAtConflict bool) ([]store.ImportResult, error) {
	if _, err := tx.exec("SAVEPOINT import_chunk"); err != nil {
		return nil, err
	}
	results, ok, err := insertChunkAtOnce(tx, users, k, stopAtConflict)
	if err == nil && !ok {
		if _, err = tx.exec("ROLLBACK TO import_chunk"); err == nil {
			results, err = insertOneByOne(tx, users, stopAtConflict)
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.exec("RELEASE import_chunk"); err != nil {
		return nil, err
	}
	return results, nil
}

// insertChunkAtOnce inserts users with one statement. ok is false, and the caller rolls the
// chunk back, when a user conflicts and stopAtConflict asks to stop there (the statement went
// on past it).
func insertChunkAtOnce(tx *wtx, users []store.User, k int, stopAtConflict bool) (results []store.ImportResult, ok bool, err error) {
	args := make([]any, 0, 17*len(users))
	for _, u := range users {
		args = append(args, userArgs(u)...)
	}
	// RETURNING names the rows by their keys: SQLite does not promise to return them in the
	// order of the VALUES.
	type key struct{ login, email string }
	at := make(map[key][]int, len(users)) // the users with those keys, in order
	for i, u := range users {
		kk := key{u.LoginCanon, u.EmailCanon}
		at[kk] = append(at[kk], i)
	}
	results = make([]store.ImportResult, len(users))
	insertedAt := make(map[int64]int, len(users)) // id → index in users
	err = tx.query(insertUsersN[k], args, func(r row) error {
		id, kk := r.Int64(0), key{r.Text(1), r.Text(2)}
		// The first user with these keys that is not yet placed and whose id, if it has one,
		// is this one: a later user with the same keys is inserted only when an earlier one
		// was refused, and it was refused for a key it shares with the later one, unless its
		// own id was taken.
		for _, i := range at[kk] {
			if results[i].Status == 0 && (users[i].ID == 0 || users[i].ID == id) {
				results[i] = store.ImportResult{Status: store.ImportInserted, ID: id}
				insertedAt[id] = i
				return nil
			}
		}
		return fmt.Errorf("sqlite: insert users: inserted row %d matches no user", id)
	})
	if err != nil {
		return nil, false, err
	}
	for i, u := range users {
		if results[i].Status != 0 {
			continue
		}
		// Users inserted after this one in the same statement were not there when it was
		// refused: the answer must be the one a user-by-user insert would have given.
		later := func(id int64) bool { j, ok := insertedAt[id]; return ok && j > i }
		if results[i], err = existingUser(tx, u, later); err != nil {
			return nil, false, err
		}
		if results[i].Status == store.ImportConflict && stopAtConflict {
			return nil, false, nil
		}
	}
	var tags []any
	for i, u := range users {
		if results[i].Status == store.ImportInserted {
			for _, tag := range u.Tags {
				tags = append(tags, tag, results[i].ID)
			}
		}
	}
	for len(tags) > 0 {
		n, k := chunkLen(len(tags) / 2)
		if _, err := tx.exec(insertTagsN[k], tags[:2*n]...); err != nil {
			return nil, false, err
		}
		tags = tags[2*n:]
	}
	return results, true, nil
}

// userArgs are the 17 parameters of insertUserOrNothing for u.
func userArgs(u store.User) []any {
	disabled := 0
	if u.Disabled {
		disabled = 1
	}
	return []any{nullID(u.ID),
		usersql.Null(u.Login), usersql.Null(u.LoginCanon), usersql.Null(u.Email), usersql.Null(u.EmailCanon),
		usersql.Null(u.PasswordHash), u.FullName, u.Phone, u.Website, u.ExternalID,
		strings.Join(u.Tags, ","), u.CustomData, u.AvatarUID,
		ms(u.CreatedAt), ms(u.UpdatedAt), ms(u.LastRequestAt), disabled}
}

// insertOneByOne inserts users one statement each, stopping after the first conflict when
// stopAtConflict.
func insertOneByOne(tx *wtx, users []store.User, stopAtConflict bool) ([]store.ImportResult, error) {
	results := make([]store.ImportResult, 0, len(users))
	for _, u := range users {
		var id int64
		err := tx.queryRow(insertUserOrNothing, userArgs(u)...).Scan(&id)
		switch {
		case err == nil:
			if err := insertTags(tx, id, u.Tags); err != nil {
				return nil, err
			}
			results = append(results, store.ImportResult{Status: store.ImportInserted, ID: id})
			continue
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		r, err := existingUser(tx, u, nil)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
		if r.Status == store.ImportConflict && stopAtConflict {
			break
		}
	}
	return results, nil
}

// existingUser tells, for a user whose insert did nothing, whether it is there already or
// collides with another user (see [store.Admin.InsertUsers]). A user for whom later(id) is
// true is treated as not there (nil: none).
func existingUser(tx *wtx, u store.User, later func(id int64) bool) (store.ImportResult, error) {
	for _, p := range usersql.Probes(u) {
		var f usersql.Found
		err := tx.queryRow(p.SQL, p.Arg).Scan(f.Dest()...)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && later != nil && later(f.ID)) {
			continue
		}
		if err != nil {
			return store.ImportResult{}, err
		}
		return usersql.Judge(u, f, p.Field), nil
	}
	return store.ImportResult{}, errors.New("sqlite: insert users: insert ignored without a conflict")
}

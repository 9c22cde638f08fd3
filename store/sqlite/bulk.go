package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/authcube/authcube/store"
)

var _ store.BulkImporter = (*Store)(nil)

// deferredTriggers are the triggers a bulk import drops, each with the statements that redo,
// for all users at once, what it would have done row by row. Indexes need no such list: every
// non-unique index of users and user_tags is dropped and made again by its own CREATE INDEX.
// The unique ones (ids, canonical logins and emails, a user's tag) stay: each insert is
// checked against them.
var deferredTriggers = map[string][]string{
	// The rebuild keeps up to 16 MiB of terms in memory before it writes a segment (FTS5's
	// default is 1 MiB): far fewer segments to merge, a fifth less time at 300,000 users.
	// Then the default again, for the small transactions that follow.
	"users_fts_insert": {
		`INSERT INTO users_fts (users_fts, rank) VALUES ('hashsize', 16777216)`,
		`INSERT INTO users_fts (users_fts) VALUES ('rebuild')`,
		`INSERT INTO users_fts (users_fts, rank) VALUES ('hashsize', 1048576)`,
	},
	"users_count_insert": {`UPDATE counters SET n = (SELECT count(*) FROM users) WHERE name = 'users'`},
	"user_tags_count_insert": {
		`DELETE FROM tag_counts`,
		`INSERT INTO tag_counts (tag, n) SELECT tag, count(*) FROM user_tags GROUP BY tag`,
	},
}

// bulkHook, when set (by tests only), runs after each step of EndBulk's transaction; an error
// from it fails the transaction there, as a crash would.
var bulkHook func(step string) error

// BeginBulk implements [store.BulkImporter]. In the same transaction it copies the definitions
// of the non-unique indexes of users and user_tags and of the insert triggers of
// deferredTriggers into the table deferred_schema, and drops them. The row, its unique indexes
// and its tag rows are still written by each InsertUsers, and a batch still commits whole.
func (s *Store) BeginBulk(ctx context.Context, ifEmpty bool) (bool, error) {
	var began bool
	err := s.w.do(ctx, func(tx *wtx) error {
		began = false
		var one int
		switch err := tx.queryRow(`SELECT 1 FROM deferred_schema LIMIT 1`).Scan(&one); {
		case err == nil:
			began = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if ifEmpty {
			switch err := tx.queryRow(`SELECT 1 FROM users LIMIT 1`).Scan(&one); {
			case err == nil:
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		triggers := make([]any, 0, len(deferredTriggers))
		for name := range deferredTriggers {
			triggers = append(triggers, name)
		}
		type object struct{ typ, name, sql string }
		var objs []object
		err := tx.query(`SELECT type, name, sql FROM sqlite_schema
			WHERE (type = 'index' AND tbl_name IN ('users', 'user_tags') AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE %')
			OR (type = 'trigger' AND name IN (?`+strings.Repeat(", ?", len(triggers)-1)+`))
			ORDER BY type, name`, triggers, func(r row) error {
			objs = append(objs, object{r.Text(0), r.Text(1), r.Text(2)})
			return nil
		})
		if err != nil {
			return err
		}
		for _, o := range objs {
			if _, err := tx.exec(`INSERT INTO deferred_schema (name, sql) VALUES (?, ?)`, o.name, o.sql); err != nil {
				return err
			}
			// The names come from sqlite_schema; these are authcube's own, plain identifiers.
			if _, err := tx.exec(`DROP ` + strings.ToUpper(o.typ) + ` "` + o.name + `"`); err != nil {
				return err
			}
		}
		began = true
		return nil
	})
	return began, wrap("begin bulk import", err)
}

// EndBulk implements [store.BulkImporter]: in one transaction it makes the indexes again,
// redoes the work of the dropped triggers for all users (rebuilds the full-name index, counts
// users and tags), makes the triggers again and empties deferred_schema. Interrupted, it
// leaves the database as it was, still waiting for an EndBulk (the next Open does it).
func (s *Store) EndBulk(ctx context.Context) error {
	return wrap("end bulk import", s.w.do(ctx, endBulk))
}

func endBulk(tx *wtx) error {
	type object struct{ name, sql string }
	var objs []object
	err := tx.query(`SELECT name, sql FROM deferred_schema ORDER BY name`, nil, func(r row) error {
		objs = append(objs, object{r.Text(0), r.Text(1)})
		return nil
	})
	if err != nil || len(objs) == 0 {
		return err
	}
	step := func(name string) error {
		if bulkHook != nil {
			return bulkHook(name)
		}
		return nil
	}
	for _, o := range objs { // indexes first: the rebuilds below may use them
		if _, trigger := deferredTriggers[o.name]; trigger {
			continue
		}
		if _, err := tx.exec(o.sql); err != nil {
			return err
		}
		if err := step(o.name); err != nil {
			return err
		}
	}
	for _, o := range objs {
		redo, trigger := deferredTriggers[o.name]
		if !trigger {
			continue
		}
		for _, q := range redo {
			if _, err := tx.exec(q); err != nil {
				return err
			}
		}
		if _, err := tx.exec(o.sql); err != nil {
			return err
		}
		if err := step(o.name); err != nil {
			return err
		}
	}
	_, err = tx.exec(`DELETE FROM deferred_schema`)
	return err
}

// bulkPending reports whether an import deferred the upkeep of indexes and never ended.
func bulkPending(ctx context.Context, db *sql.DB) (bool, error) {
	var pending bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deferred_schema)`).Scan(&pending)
	return pending, err
}

package sqlite_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite"
)

// TestBulkImportInterrupted: a bulk import drops the secondary indexes and insert triggers of
// users; an EndBulk that fails half-way (a hook fails it after the full-name index is rebuilt)
// leaves the database as it was, and the next Open finishes the job: the schema is the golden
// one again, full-name search finds every user, and the counts are right. Not parallel: it
// sets the package's bulk hook.
func TestBulkImportInterrupted(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "authcube.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	before, err := s.DB().QueryContext(ctx, `SELECT 1`) // the read pool works before and after
	require.NoError(t, err)
	before.Close()

	began, err := s.BeginBulk(ctx, true)
	require.NoError(t, err)
	require.True(t, began, "the store is empty")
	assert.NotContains(t, schema(t, s), "users_updated_at", "secondary indexes dropped")
	assert.NotContains(t, schema(t, s), "TRIGGER users_fts_insert")

	const n = 1500
	batch := make([]store.User, n)
	for i := range batch {
		u := user(fmt.Sprintf("user_%d", i))
		u.FullName = fmt.Sprintf("Imported Person %d", i)
		u.Tags = []string{fmt.Sprintf("t%d", i%3)}
		batch[i] = u
	}
	res, err := s.InsertUsers(ctx, batch[:1000], true)
	require.NoError(t, err)
	require.Len(t, res, 1000)
	began, err = s.BeginBulk(ctx, true)
	require.NoError(t, err)
	assert.True(t, began, "still deferred: the import goes on")
	_, err = s.InsertUsers(ctx, batch[1000:], true)
	require.NoError(t, err)

	var steps []string
	remove := sqlite.SetBulkHook(func(step string) error {
		steps = append(steps, step)
		if step == "users_fts_insert" {
			return errors.New("crash")
		}
		return nil
	})
	err = s.EndBulk(ctx)
	remove()
	require.ErrorContains(t, err, "crash")
	assert.Contains(t, steps, "users_updated_at", "the indexes were made before the crash")
	assert.NotContains(t, schema(t, s), "users_updated_at", "and rolled back with it")
	require.NoError(t, s.Close())

	s = openAt(t, path) // finishes the import
	want, err := os.ReadFile(filepath.Join("testdata", "schema.golden"))
	require.NoError(t, err)
	assert.Equal(t, string(want), schema(t, s))
	var left int
	require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT count(*) FROM deferred_schema`).Scan(&left))
	assert.Zero(t, left)

	found, total, err := s.QueryUsers(ctx, store.Query{
		Conds: []store.Cond{{Field: store.FieldFullName, Op: store.OpContains, Values: []any{"Person 149"}}},
		Limit: 100, TotalCap: 100,
	})
	require.NoError(t, err)
	assert.Equal(t, 11, total, "149 and 1490-1499, from both batches")
	assert.Len(t, found, 11)
	c, err := s.Counts(ctx, t0, t0)
	require.NoError(t, err)
	assert.Equal(t, int64(n), c.Users)
	_, total, err = s.QueryUsers(ctx, store.Query{
		Conds: []store.Cond{{Field: store.FieldTags, Op: store.OpEq, Values: []any{"t1"}}}, Limit: 1, TotalCap: n,
	})
	require.NoError(t, err)
	assert.Equal(t, n/3, total, "tag counts")

	// Users present: a bulk import only if asked regardless.
	began, err = s.BeginBulk(ctx, true)
	require.NoError(t, err)
	assert.False(t, began)
	assert.Equal(t, string(want), schema(t, s))
	began, err = s.BeginBulk(ctx, false)
	require.NoError(t, err)
	assert.True(t, began)
	require.NoError(t, s.EndBulk(ctx))
	assert.Equal(t, string(want), schema(t, s))
	require.NoError(t, s.EndBulk(ctx), "without a BeginBulk: nothing to do")
}

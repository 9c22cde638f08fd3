package sqlite

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite/internal/query"
)

// TestQueryUsersFullNameNUL: a full-name search whose text holds a NUL byte (valid UTF-8, so the
// engine passes it on) must be refused as an invalid query or find what it finds; it must not
// fail inside SQLite. FTS5 reads the MATCH text only up to the NUL, so the quoted phrase the
// builder makes loses its closing quote ("unterminated string").
func TestQueryUsersFullNameNUL(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "authcube.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	for _, v := range []string{"abc\x00", "\x00abc", "ab\x00cd"} {
		_, _, err := s.QueryUsers(t.Context(), store.Query{
			Conds: []store.Cond{{Field: store.FieldFullName, Op: store.OpContains, Values: []any{v}}},
			Limit: 10,
		})
		if err != nil && !errors.Is(err, query.ErrInvalid) {
			t.Errorf("full_name ctn %q: %v", v, err)
		}
	}
}

package sqlite

import (
	"context"
	"strings"

	"github.com/authcube/authcube/store"
	"github.com/authcube/authcube/store/sqlite/internal/query"
)

// MaxValues caps the values of one condition.
const MaxValues = query.MaxValues

// userQueries builds the queries of QueryUsers (S25).
var userQueries = query.NewBuilder(userColumnsU)

// userColumnsU is userColumns qualified by the alias u.
var userColumnsU = func() string {
	cols := strings.Split(userColumns, ",")
	for i, c := range cols {
		cols[i] = "u." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// QueryUsers implements [store.Store].
func (s *Store) QueryUsers(ctx context.Context, q store.Query) ([]store.User, int, error) {
	b, err := userQueries.Build(q)
	if err != nil {
		return nil, 0, err
	}
	users := make([]store.User, 0, q.Limit)
	err = s.read(ctx, b.SQL, b.Args, func(r row) error {
		users = append(users, userOf(r))
		return nil
	})
	if err != nil {
		return nil, 0, wrap("query users", err)
	}
	total := 0
	if b.Count != "" {
		if err := s.readRow(ctx, b.Count, b.CountArgs, scanInto(&total)); err != nil {
			return nil, 0, wrap("count users", err)
		}
	}
	return users, total, nil
}

package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/authcube/authcube/store"
)

var _ store.Secrets = (*Store)(nil)

// Secret implements [store.Secrets]: the first candidate stored under name wins (INSERT ... ON
// CONFLICT DO NOTHING), and every instance reads that one back.
func (s *Store) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var value []byte
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := exec(ctx, tx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, candidate); err != nil {
			return err
		}
		return queryRow(ctx, tx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, wrap("secret", err)
	}
	return value, nil
}

package postgres

import "context"

// OpenAtVersion opens a store whose schema is migrated up to version only, to test upgrades.
func OpenAtVersion(ctx context.Context, cfg Config, version int) (*Store, error) {
	return open(ctx, cfg, version)
}

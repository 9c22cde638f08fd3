-- authcube schema 12: bulk imports of users.

-- The indexes and triggers a bulk import (Store.BeginBulk) dropped, each with the statement
-- that makes it again. Store.EndBulk, or Open after an import that never ended, runs them,
-- rebuilds what they would have kept up to date, and empties the table, in one transaction.
CREATE TABLE deferred_schema (
	name TEXT PRIMARY KEY,
	sql  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

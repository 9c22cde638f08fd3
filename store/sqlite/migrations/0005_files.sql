-- authcube schema 5: files. The bytes live in the blob store under uid; a row without bytes is
-- pending until its upload completes.

CREATE TABLE files (
	id           INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused; owner-only look-ups
	uid          TEXT    NOT NULL UNIQUE,           -- 128 random bits: the read capability
	owner_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL DEFAULT '',
	size         INTEGER NOT NULL DEFAULT 0,
	public       INTEGER NOT NULL DEFAULT 0,
	complete     INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX files_owner ON files (owner_id, id);
CREATE INDEX files_pending ON files (created_at) WHERE complete = 0;

-- authcube schema 1: users, their tags, sessions.
-- Timestamps are INTEGER Unix milliseconds, UTC. Tables are STRICT.

CREATE TABLE users (
	id              INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: apps keep ids elsewhere
	login           TEXT,                              -- as typed (NFC); NULL when none
	login_canon     TEXT UNIQUE,                       -- canonical form, for uniqueness and look-ups
	email           TEXT,
	email_canon     TEXT UNIQUE,
	password_hash   TEXT,                              -- PHC string; NULL when none
	full_name       TEXT    NOT NULL DEFAULT '',
	phone           TEXT    NOT NULL DEFAULT '',       -- normal form; not unique
	website         TEXT    NOT NULL DEFAULT '',
	external_id     TEXT    NOT NULL DEFAULT '',       -- profile data; not unique
	tags            TEXT    NOT NULL DEFAULT '',       -- the tags joined by ',' (tags hold no commas)
	custom_data     TEXT    NOT NULL DEFAULT '',
	avatar_uid      TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	last_request_at INTEGER NOT NULL
	-- Local users have a login or an email (the engine checks); users of an identity provider
	-- (phone sign-in) may have neither.
) STRICT;

CREATE INDEX users_phone ON users (phone, id) WHERE phone <> '';
CREATE INDEX users_external_id ON users (external_id, id) WHERE external_id <> '';

-- One row per (tag, user): "any of these tags" is a UNION of index ranges ordered by user id.
CREATE TABLE user_tags (
	tag     TEXT    NOT NULL,
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (tag, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX user_tags_user ON user_tags (user_id);

-- Sessions are keyed by SHA-256 of the token; the token itself is never stored.
CREATE TABLE sessions (
	token_hash      BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
	id              TEXT    NOT NULL, -- a random UUID; looked up only among a user's sessions
	app_id          INTEGER NOT NULL,
	user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE, -- NULL: application session
	provider        TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	signed_in_at    INTEGER NOT NULL DEFAULT 0,
	last_request_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A user's sessions (Sessions, RevokeSession, revocation by user). Application sessions, the
-- bulk of new sessions, stay out of it: an insert then touches only the primary key and the
-- activity index.
CREATE INDEX sessions_user ON sessions (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_last_request ON sessions (last_request_at);

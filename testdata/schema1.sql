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

-- Data written by authcube at schema 1 (hand-made fixture of the migration tests in migrate_test.go).
-- Every user's password is "fixture password 1", hashed with argon2id at m=64, t=1, p=1.
-- Times are Unix ms: 1748736000000 is 2025-06-01T00:00:00Z.

INSERT INTO users (id, login, login_canon, email, email_canon, password_hash, full_name, phone, website, external_id, tags, custom_data, avatar_uid, created_at, updated_at, last_request_at) VALUES
	(1, 'Marvin18', 'marvin18', 'Marvin@Example.org', 'marvin@example.org',
	 '$argon2id$v=19$m=64,t=1,p=1$cjQtZml4dHVyZS1zYWx0MQ$XtxmlakrYJFG9OrfH0YkpGNJQuGnVcL5jBHJVxIjMCY',
	 'Marvin Simon', '47802323143', 'https://marvin.example.org', 'ext-1', 'iphone,apple', '{"age":42}', '',
	 1748736000000, 1748736000000, 1748736000000),
	(2, 'zoe.k', 'zoe.k', 'zoe@example.org', 'zoe@example.org',
	 '$argon2id$v=19$m=64,t=1,p=1$cjQtZml4dHVyZS1zYWx0Mg$WCrEGmOgeOJbVwhqnV+Km8hDpnTLFLRWZ9Jx1/BJLYE',
	 'Zoë Karenina', '', '', '', 'apple', '', '',
	 1748736001000, 1748736001000, 1748736001000),
	(3, NULL, NULL, 'bird@example.org', 'bird@example.org',
	 '$argon2id$v=19$m=64,t=1,p=1$cjQtZml4dHVyZS1zYWx0Mw$P4pkPaqjx/BuZd5LYKgMxEug4Rsv4sv9v2waURCgCgU',
	 'Big Bird', '', '', '', 'android', '', '',
	 1748736002000, 1748736002000, 1748736002000);

INSERT INTO user_tags (tag, user_id) VALUES
	('iphone', 1),
	('apple', 1),
	('apple', 2),
	('android', 3);

-- A user session of Marvin18 (token oaKjpKWmp6ipqqusra6vsLGys7S1tre4ubq7vL2-v8A) and an
-- application session (token srO0tba3uLm6u7y9vr_AwcLDxMXGx8jJysvMzc7P0NE); only their SHA-256
-- is stored.
INSERT INTO sessions (token_hash, id, app_id, user_id, provider, created_at, signed_in_at, last_request_at) VALUES
	(X'cbc32f41bbb1b704b200067859a90d4c4376e0e34b4669d4120617e555e01e20', '5f0c2a3e-8d1b-4c6f-9a2e-1b3c4d5e6f70', 1, 1, 'password',
	 1748739600000, 1748739600000, 1748741400000),
	(X'79102b65c25afe2480322740a7058acce13d857ab6de2a38f2facda4545f3308', '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', 1, NULL, '',
	 1748739600000, 0, 1748741400000);

PRAGMA user_version = 1;

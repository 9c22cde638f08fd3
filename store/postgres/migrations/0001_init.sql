-- authcube PostgreSQL schema 1. It runs with search_path set to the store's schema; the
-- extensions pg_trgm and unaccent live in public (created by the migrator beforehand).
-- Timestamps are BIGINT Unix milliseconds, UTC, as in the SQLite store, so that keyset cursors
-- and comparisons are the same. Text that is compared or sorted is COLLATE "C": byte order, the
-- order the SQLite store and the conformance suite use.

-- fold is the full-name search's normal form: accents removed, then lower case (Unicode).
-- unaccent is STABLE only because its dictionary could change; naming the dictionary makes it
-- safe to declare the wrapper IMMUTABLE, as an expression index requires.
CREATE FUNCTION fold(text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
	RETURN lower(public.unaccent('public.unaccent'::regdictionary, $1) COLLATE "und-x-icu");

CREATE TABLE users (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused
	login           TEXT COLLATE "C",                  -- as typed; NULL when none
	login_canon     TEXT COLLATE "C" CONSTRAINT users_login_canon_key UNIQUE,
	email           TEXT COLLATE "C",
	email_canon     TEXT COLLATE "C" CONSTRAINT users_email_canon_key UNIQUE,
	password_hash   TEXT,                              -- PHC string; NULL when none
	full_name       TEXT COLLATE "C" NOT NULL DEFAULT '',
	phone           TEXT COLLATE "C" NOT NULL DEFAULT '', -- normal form; not unique
	website         TEXT COLLATE "C" NOT NULL DEFAULT '',
	external_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
	tags            TEXT[] COLLATE "C" NOT NULL DEFAULT '{}', -- in the order given
	custom_data     TEXT NOT NULL DEFAULT '',
	avatar_uid      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	last_request_at BIGINT NOT NULL
);

CREATE INDEX users_phone_digits ON users (ltrim(phone, '+'), id) WHERE phone <> '';
CREATE INDEX users_external_id ON users (external_id, id) WHERE external_id <> '';
CREATE INDEX users_tags ON users USING gin (tags);
CREATE INDEX users_full_name ON users USING gin (fold(full_name) public.gin_trgm_ops);
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX users_updated_at ON users (updated_at, id);
CREATE INDEX users_last_request_at ON users (last_request_at, id);

-- Sessions are keyed by SHA-256 of the token; the token itself is never stored.
CREATE TABLE sessions (
	token_hash      BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
	id              TEXT NOT NULL, -- a random UUID; looked up only among a user's sessions
	app_id          BIGINT NOT NULL,
	user_id         BIGINT REFERENCES users (id) ON DELETE CASCADE, -- NULL: application session
	provider        TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	signed_in_at    BIGINT NOT NULL DEFAULT 0,
	last_request_at BIGINT NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_last_request ON sessions (last_request_at);

-- Tombstones of revoked sessions (S33): a session its owner ended (destroyed, revoked, a
-- password change or reset, the user's deletion) leaves its token hash here, so that its token
-- is told apart from an expired or unknown one (a Client renews expired sessions only). A token
-- is looked up here only when sessions has no row for it. The sweeper deletes a tombstone once
-- the session's absolute lifetime, counted from started_at, is over.
CREATE TABLE revoked_sessions (
	token_hash BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
	started_at BIGINT NOT NULL -- signed in (user sessions) or created (application sessions)
);

CREATE INDEX revoked_sessions_started ON revoked_sessions (started_at);

CREATE TABLE throttle (
	key      TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	until    BIGINT NOT NULL
);

CREATE INDEX throttle_until ON throttle (until);

CREATE TABLE reset_tokens (
	token_hash  BYTEA PRIMARY KEY CHECK (length(token_hash) = 32),
	user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email_canon TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	used        BOOLEAN NOT NULL DEFAULT false
);

CREATE INDEX reset_tokens_user ON reset_tokens (user_id);
CREATE INDEX reset_tokens_expires ON reset_tokens (expires_at);

CREATE TABLE files (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- never reused
	uid          TEXT NOT NULL CONSTRAINT files_uid_key UNIQUE,
	owner_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	content_type TEXT NOT NULL DEFAULT '',
	size         BIGINT NOT NULL DEFAULT 0,
	public       BOOLEAN NOT NULL DEFAULT false,
	complete     BOOLEAN NOT NULL DEFAULT false,
	created_at   BIGINT NOT NULL
);

CREATE INDEX files_owner ON files (owner_id, id);
CREATE INDEX files_pending ON files (created_at) WHERE NOT complete;

CREATE TABLE identities (
	provider   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	CONSTRAINT identities_pkey PRIMARY KEY (provider, subject)
);

CREATE INDEX identities_user ON identities (user_id, provider);

-- authcube schema 8: tombstones of revoked sessions (S33).
-- A session its owner ended (destroyed, revoked, a password change or reset, the user's
-- deletion) leaves its token hash here, so that its token is told apart from an expired or
-- unknown one: a Client renews expired sessions only. Live sessions stay in sessions alone; a
-- token is looked up here only when sessions has no row for it. The sweeper deletes a tombstone
-- once the session's absolute lifetime, counted from started_at, is over: the token would be
-- dead by then anyway.

CREATE TABLE revoked_sessions (
	token_hash BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
	started_at INTEGER NOT NULL -- signed in (user sessions) or created (application sessions)
) STRICT, WITHOUT ROWID;

CREATE INDEX revoked_sessions_started ON revoked_sessions (started_at);

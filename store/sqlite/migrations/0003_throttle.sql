-- authcube schema 3: sign-in throttling, written behind the in-memory state.

CREATE TABLE throttle (
	key      TEXT    PRIMARY KEY, -- "login:<canonical>", "email:<canonical>", ...
	failures INTEGER NOT NULL,
	until    INTEGER NOT NULL     -- Unix ms before which attempts are refused
) STRICT, WITHOUT ROWID;

CREATE INDEX throttle_until ON throttle (until);

-- authcube schema 4: password-reset tokens, stored hashed.

CREATE TABLE reset_tokens (
	token_hash  BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email_canon TEXT    NOT NULL, -- the address it was sent to: an email change voids it
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	used        INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX reset_tokens_user ON reset_tokens (user_id);
CREATE INDEX reset_tokens_expires ON reset_tokens (expires_at);

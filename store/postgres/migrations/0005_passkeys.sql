-- authcube PostgreSQL schema 5: passkeys (WebAuthn credentials) and their pending ceremonies
-- (S42).
CREATE TABLE passkeys (
	id           BYTEA  NOT NULL,
	user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT   NOT NULL,
	credential   BYTEA  NOT NULL,
	sign_count   BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL,
	CONSTRAINT passkeys_pkey PRIMARY KEY (id)
);

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE passkey_challenges (
	id         TEXT COLLATE "C" NOT NULL,
	user_id    BIGINT NOT NULL,
	kind       TEXT   NOT NULL,
	data       BYTEA  NOT NULL,
	expires_at BIGINT NOT NULL,
	CONSTRAINT passkey_challenges_pkey PRIMARY KEY (id)
);

CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);

-- authcube schema 11: passkeys (WebAuthn credentials) and their pending ceremonies (S42).

CREATE TABLE passkeys (
	id           BLOB    NOT NULL PRIMARY KEY, -- the credential id: unique
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	credential   BLOB    NOT NULL,             -- public key, flags, transports (package passkey)
	sign_count   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- Pending ceremonies: single use (deleted when taken), five minutes.
CREATE TABLE passkey_challenges (
	id         TEXT    NOT NULL PRIMARY KEY, -- the challenge
	user_id    INTEGER NOT NULL,             -- 0: a discoverable sign-in
	kind       TEXT    NOT NULL,             -- "register", "login"
	data       BLOB    NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);

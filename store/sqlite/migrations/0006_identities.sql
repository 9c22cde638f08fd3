-- authcube schema 6: external identities. A user of an identity provider is keyed by
-- (provider, subject), never by login, email or phone (S22).

CREATE TABLE identities (
	provider   TEXT    NOT NULL, -- "firebase_phone", "firebase_email", "custom", ...
	subject    TEXT    NOT NULL, -- the provider's stable id of the user
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (provider, subject)
) STRICT, WITHOUT ROWID;

CREATE INDEX identities_user ON identities (user_id, provider);

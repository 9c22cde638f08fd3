-- Second factor (S38, S39): TOTP enrolments, recovery codes and sign-in challenges; verified
-- email addresses and mailed codes (S40).
CREATE TABLE totp (
	user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret     BLOB    NOT NULL, -- sealed by the engine (AES-GCM)
	confirmed  INTEGER NOT NULL DEFAULT 0,
	last_step  INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BLOB    NOT NULL CHECK (length(code_hash) = 32),
	PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE challenges (
	challenge_hash BLOB    PRIMARY KEY CHECK (length(challenge_hash) = 32),
	user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider       TEXT    NOT NULL,
	verified_hash  TEXT    NOT NULL,
	expires_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX challenges_user ON challenges (user_id);
CREATE INDEX challenges_expires ON challenges (expires_at);

-- Verified email addresses and mailed one-time codes (S40).
ALTER TABLE users ADD COLUMN email_verified_at INTEGER NOT NULL DEFAULT 0; -- 0: not verified

CREATE TABLE email_codes (
	code_hash   BLOB    PRIMARY KEY CHECK (length(code_hash) = 32),
	user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email_canon TEXT    NOT NULL,
	purpose     TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX email_codes_user ON email_codes (user_id, purpose);
CREATE INDEX email_codes_expires ON email_codes (expires_at);

-- authcube PostgreSQL schema 4. Second factor (S38, S39): TOTP enrolments, recovery codes and
-- sign-in challenges.
CREATE TABLE totp (
	user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	secret     BYTEA   NOT NULL, -- sealed by the engine (AES-GCM)
	confirmed  BOOLEAN NOT NULL DEFAULT false,
	last_step  BIGINT  NOT NULL DEFAULT 0,
	created_at BIGINT  NOT NULL
);

CREATE TABLE recovery_codes (
	user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BYTEA  NOT NULL CHECK (length(code_hash) = 32),
	PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE challenges (
	challenge_hash BYTEA  PRIMARY KEY CHECK (length(challenge_hash) = 32),
	user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	provider       TEXT   NOT NULL,
	verified_hash  TEXT   NOT NULL,
	expires_at     BIGINT NOT NULL
);

CREATE INDEX challenges_user ON challenges (user_id);
CREATE INDEX challenges_expires ON challenges (expires_at);

-- Verified email addresses and mailed one-time codes (S40).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT NOT NULL DEFAULT 0; -- 0: not verified

CREATE TABLE email_codes (
	code_hash   BYTEA  PRIMARY KEY CHECK (length(code_hash) = 32),
	user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	email_canon TEXT COLLATE "C" NOT NULL,
	purpose     TEXT   NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL
);

CREATE INDEX email_codes_user ON email_codes (user_id, purpose);
CREATE INDEX email_codes_expires ON email_codes (expires_at);

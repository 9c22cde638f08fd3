-- authcube PostgreSQL schema 2: secrets every instance must share (the key that signs device
-- tokens), created once by the first instance that needs one and then only read.
CREATE TABLE secrets (
	name  TEXT COLLATE "C" PRIMARY KEY,
	value BYTEA NOT NULL
);

-- authcube schema 2: what the user queries need.

-- Full-name search: an external-content FTS5 index with the trigram tokenizer, so any substring
-- of 3 or more characters matches, without regard to case or accents.
CREATE VIRTUAL TABLE users_fts USING fts5(
	full_name,
	content = 'users',
	content_rowid = 'id',
	columnsize = 0, -- no per-row size table: nothing here ranks by bm25
	tokenize = 'trigram remove_diacritics 1'
);

INSERT INTO users_fts (rowid, full_name) SELECT id, full_name FROM users WHERE full_name <> '';

CREATE TRIGGER users_fts_insert AFTER INSERT ON users WHEN new.full_name <> '' BEGIN
	INSERT INTO users_fts (rowid, full_name) VALUES (new.id, new.full_name);
END;

CREATE TRIGGER users_fts_delete AFTER DELETE ON users WHEN old.full_name <> '' BEGIN
	INSERT INTO users_fts (users_fts, rowid, full_name) VALUES ('delete', old.id, old.full_name);
END;

CREATE TRIGGER users_fts_update AFTER UPDATE OF full_name ON users
	WHEN old.full_name IS NOT new.full_name BEGIN
	INSERT INTO users_fts (users_fts, rowid, full_name)
		SELECT 'delete', old.id, old.full_name WHERE old.full_name <> '';
	INSERT INTO users_fts (rowid, full_name)
		SELECT new.id, new.full_name WHERE new.full_name <> '';
END;

-- Maintained counters, so that Total is exact and cheap for all users and for one tag.
CREATE TABLE counters (
	name TEXT    PRIMARY KEY,
	n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO counters (name, n) SELECT 'users', count(*) FROM users;

CREATE TRIGGER users_count_insert AFTER INSERT ON users BEGIN
	UPDATE counters SET n = n + 1 WHERE name = 'users';
END;

CREATE TRIGGER users_count_delete AFTER DELETE ON users BEGIN
	UPDATE counters SET n = n - 1 WHERE name = 'users';
END;

CREATE TABLE tag_counts (
	tag TEXT    PRIMARY KEY,
	n   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO tag_counts (tag, n) SELECT tag, count(*) FROM user_tags GROUP BY tag;

CREATE TRIGGER user_tags_count_insert AFTER INSERT ON user_tags BEGIN
	INSERT INTO tag_counts (tag, n) VALUES (new.tag, 1)
		ON CONFLICT (tag) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_tags_count_delete AFTER DELETE ON user_tags BEGIN
	UPDATE tag_counts SET n = n - 1 WHERE tag = old.tag;
	DELETE FROM tag_counts WHERE tag = old.tag AND n <= 0;
END;

-- Sorting and range filters on the time fields.
CREATE INDEX users_updated_at ON users (updated_at, id);
CREATE INDEX users_last_request_at ON users (last_request_at, id);

-- authcube PostgreSQL schema 6: the tag and full-name queries of the SQLite store (issue 15).
-- A (tag, user_id) table in a B-tree walks one tag's users in id order, so a first page reads
-- only its rows; maintained counters give the Total of all users and of one tag without
-- counting; the folded full name is stored, so that the trigram search compares a column
-- instead of folding every candidate row again.
--
-- users.tags stays the truth (the user's tags in the order given); the triggers below keep
-- user_tags and the counters equal to it in the same transaction as every write of users,
-- whatever the statement (the store's writes, COPY, or SQL by hand).
--
-- Counters under concurrency: one row per counter would be a hot row, each write of a user with
-- a common tag holding it until its commit, so that writers of that tag would queue one commit
-- at a time. Each counter is instead striped over 64 rows (stripe = the writing transaction's
-- id mod 64): consecutive transactions write different stripes, readers sum the stripes (one
-- index range of at most 64 rows). A transaction writes all its counters in one stripe, in tag
-- order within a statement; two transactions can deadlock only if they share a stripe and take
-- two tags in opposite orders across statements (e.g. an import beside a sign-up); PostgreSQL
-- then aborts one and the store retries it (retryable in postgres.go). A stripe's n may be
-- negative (a user counted in one stripe and removed in another): only the sum means anything.

-- The writers of schema 5 (instances not yet upgraded) wait until this migration commits, so
-- that the backfill and the triggers see every user exactly once.
LOCK TABLE users IN ACCESS EXCLUSIVE MODE;

CREATE TABLE user_tags (
	tag     TEXT COLLATE "C" NOT NULL,
	user_id BIGINT NOT NULL -- kept by the triggers, not by a foreign key (one check less a row)
);

CREATE TABLE tag_counts (
	tag    TEXT COLLATE "C" NOT NULL,
	stripe SMALLINT NOT NULL,
	n      BIGINT NOT NULL,
	CONSTRAINT tag_counts_pkey PRIMARY KEY (tag, stripe)
);

CREATE TABLE user_count (
	stripe SMALLINT NOT NULL CONSTRAINT user_count_pkey PRIMARY KEY,
	n      BIGINT NOT NULL
);

INSERT INTO user_tags (tag, user_id) SELECT DISTINCT t.tag, u.id FROM users u, unnest(u.tags) AS t (tag);
ALTER TABLE user_tags ADD CONSTRAINT user_tags_pkey PRIMARY KEY (tag, user_id); -- built once, sorted
INSERT INTO tag_counts (tag, stripe, n) SELECT tag, 0, count(*) FROM user_tags GROUP BY tag;
INSERT INTO user_count (stripe, n) SELECT 0, count(*) FROM users;

-- The functions run with this schema as their search_path, whatever the caller's.

-- A statement's new users: their tags and the counters.
CREATE FUNCTION users_inserted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
	my_stripe smallint := (pg_current_xact_id()::text::bigint % 64)::smallint;
BEGIN
	WITH added AS (
		INSERT INTO user_tags (tag, user_id)
		SELECT DISTINCT t.tag, u.id FROM new_users u, unnest(u.tags) AS t (tag)
		RETURNING tag
	)
	INSERT INTO tag_counts AS c (tag, stripe, n)
	SELECT tag, my_stripe, count(*) FROM added GROUP BY tag ORDER BY tag
	ON CONFLICT (tag, stripe) DO UPDATE SET n = c.n + excluded.n;

	INSERT INTO user_count AS c (stripe, n)
	SELECT my_stripe, count(*) FROM new_users HAVING count(*) > 0
	ON CONFLICT (stripe) DO UPDATE SET n = c.n + excluded.n;
	RETURN NULL;
END
$$;

CREATE TRIGGER users_inserted AFTER INSERT ON users
	REFERENCING NEW TABLE AS new_users FOR EACH STATEMENT EXECUTE FUNCTION users_inserted();

-- A statement's deleted users.
CREATE FUNCTION users_deleted() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
	my_stripe smallint := (pg_current_xact_id()::text::bigint % 64)::smallint;
BEGIN
	WITH removed AS (
		DELETE FROM user_tags t USING old_users u
		WHERE t.user_id = u.id AND t.tag = ANY (u.tags)
		RETURNING t.tag
	)
	INSERT INTO tag_counts AS c (tag, stripe, n)
	SELECT tag, my_stripe, -count(*) FROM removed GROUP BY tag ORDER BY tag
	ON CONFLICT (tag, stripe) DO UPDATE SET n = c.n + excluded.n;

	INSERT INTO user_count AS c (stripe, n)
	SELECT my_stripe, -count(*) FROM old_users HAVING count(*) > 0
	ON CONFLICT (stripe) DO UPDATE SET n = c.n + excluded.n;
	RETURN NULL;
END
$$;

CREATE TRIGGER users_deleted AFTER DELETE ON users
	REFERENCING OLD TABLE AS old_users FOR EACH STATEMENT EXECUTE FUNCTION users_deleted();

-- A user whose tags changed (a row trigger: a statement trigger with transition tables cannot
-- be limited to the tags column, and would run for every update of users).
CREATE FUNCTION user_tags_changed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
	my_stripe smallint := (pg_current_xact_id()::text::bigint % 64)::smallint;
BEGIN
	WITH removed AS (
		DELETE FROM user_tags
		WHERE user_id = old.id AND tag = ANY (old.tags) AND NOT tag = ANY (new.tags)
		RETURNING tag, -1 AS d
	), added AS (
		INSERT INTO user_tags (tag, user_id)
		SELECT DISTINCT t.tag, new.id FROM unnest(new.tags) AS t (tag) WHERE NOT t.tag = ANY (old.tags)
		RETURNING tag, 1 AS d
	)
	INSERT INTO tag_counts AS c (tag, stripe, n)
	SELECT tag, my_stripe, sum(d) FROM (SELECT * FROM removed UNION ALL SELECT * FROM added) AS r
	GROUP BY tag ORDER BY tag
	ON CONFLICT (tag, stripe) DO UPDATE SET n = c.n + excluded.n;
	RETURN NULL;
END
$$;

CREATE TRIGGER user_tags_changed AFTER UPDATE OF tags ON users
	FOR EACH ROW WHEN (old.tags IS DISTINCT FROM new.tags) EXECUTE FUNCTION user_tags_changed();

-- TRUNCATE fires no DELETE trigger: emptying users (by hand) empties the tags and counters.
CREATE FUNCTION users_truncated() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	TRUNCATE user_tags, tag_counts, user_count;
	RETURN NULL;
END
$$;

CREATE TRIGGER users_truncated AFTER TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION users_truncated();

-- The GIN index of the tags served the old tag queries; user_tags serves them now. The old
-- full-name index goes too, before the rewrite below rather than rebuilt by it.
DROP INDEX users_tags;
DROP INDEX users_full_name;

-- The folded full name, stored (this rewrites the table once): the search's recheck of a
-- candidate row is then a LIKE on a column, not unaccent and lower case again.
ALTER TABLE users ADD COLUMN full_name_fold TEXT COLLATE "C" GENERATED ALWAYS AS (fold(full_name)) STORED;
CREATE INDEX users_full_name_fold ON users USING gin (full_name_fold public.gin_trgm_ops);

ANALYZE users, user_tags;

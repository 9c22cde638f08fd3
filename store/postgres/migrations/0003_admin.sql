-- authcube PostgreSQL schema 3. Admin: a disabled user signs in nowhere and has no sessions
-- (S44).
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;

-- Admin: a disabled user signs in nowhere and has no sessions (S44).
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

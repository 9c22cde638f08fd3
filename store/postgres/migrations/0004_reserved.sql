-- authcube PostgreSQL schema 4: reserved for another change (the second factor). This
-- placeholder keeps the numbering without gaps on this branch; the merge replaces it.
SELECT 1;

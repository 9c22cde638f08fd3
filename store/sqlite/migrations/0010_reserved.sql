-- authcube schema 10: reserved for another change (the second factor). This placeholder keeps
-- the numbering without gaps on this branch; the merge replaces it.
SELECT 1;

-- authcube schema 7: phone look-ups in one index seek.
-- UserByPhone matches a phone with or without its leading "+". Over users_phone that took two
-- seeks, one per form; this index holds the digits alone.

CREATE INDEX users_phone_digits ON users (ltrim(phone, '+'), id) WHERE phone <> '';

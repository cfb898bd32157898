-- Part 3: SET NOT NULL trusts the valid CHECK (PostgreSQL 12+) instead of
-- scanning again; it holds ACCESS EXCLUSIVE only for a catalog change. The
-- CHECK is redundant after it.
ALTER TABLE profiles ALTER COLUMN display_name SET NOT NULL;
ALTER TABLE profiles DROP CONSTRAINT profiles_display_name_not_null;

-- CREATE INDEX CONCURRENTLY cannot run in a transaction. A failed attempt
-- leaves an INVALID index behind, which IF NOT EXISTS would keep: drop first.
---- tern: disable-tx ----
DROP INDEX CONCURRENTLY IF EXISTS profiles_display_name_idx;
CREATE INDEX CONCURRENTLY profiles_display_name_idx ON profiles (display_name);

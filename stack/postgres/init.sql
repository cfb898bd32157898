-- Roles and database of the stack contract, run once on a new cluster
-- (by the compose image's docker-entrypoint-initdb.d and by native mode).
-- The superuser postgres/postgres is created by initdb.

-- app: what examples connect as. Not a superuser and without BYPASSRLS, so
-- Row-Level Security applies to it.
CREATE ROLE app LOGIN PASSWORD 'app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
-- Reading pg_stat_statements of every role needs pg_read_all_stats.
GRANT pg_read_all_stats TO app;

-- tls_only: pg_hba.conf rejects its connections without TLS.
CREATE ROLE tls_only LOGIN PASSWORD 'tls_only' NOSUPERUSER;

CREATE DATABASE app OWNER app;
\connect app
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- Let app reset the statistics between runs (01-postgresql/07-explain). The
-- function's signature differs between PostgreSQL versions (17 adds
-- minmax_only), so grant whichever exists.
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'pg_stat_statements_reset' LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO app', f);
  END LOOP;
END $$;
GRANT CONNECT ON DATABASE app TO tls_only;

// Command 11-rls keeps tenants apart in one table with Row-Level Security:
// the tenant is set per transaction (SET LOCAL), the policy compares with
// it, and a connection without a tenant sees and writes nothing.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := setupRLS(ctx, pool); err != nil {
		return err
	}
	return tenantDemo(ctx, pool, stdout)
}

// setupRLS creates the tenant table with RLS enabled and forced: without
// FORCE the table owner (often the application's own role) skips policies.
func setupRLS(ctx context.Context, pool *pgxpool.Pool) error {
	var bypass bool
	if err := pool.QueryRow(ctx, `SELECT rolsuper OR rolbypassrls
		FROM pg_roles WHERE rolname = current_user`).Scan(&bypass); err != nil {
		return fmt.Errorf("read role: %w", err)
	}
	if bypass {
		return errors.New("the role bypasses row-level security (superuser or BYPASSRLS): connect as an ordinary role")
	}
	// current_setting(..., true) returns NULL on a connection that never
	// set the tenant, but '' on one where an earlier transaction did (SET
	// LOCAL ends, the variable stays defined): NULLIF makes both "no
	// tenant", so a warm pooled connection fails closed like a new one.
	// The ALTERs bring a table from an earlier version of this program up
	// to date (and fail if it already holds a row without a tenant).
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
CREATE TABLE IF NOT EXISTS tenant_invoices (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id    text   NOT NULL,
	amount_cents bigint NOT NULL
);
ALTER TABLE tenant_invoices
	ALTER COLUMN tenant_id SET DEFAULT NULLIF(current_setting('app.tenant_id', true), ''),
	DROP CONSTRAINT IF EXISTS tenant_id_not_empty,
	ADD CONSTRAINT tenant_id_not_empty CHECK (tenant_id <> '');
ALTER TABLE tenant_invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_invoices FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON tenant_invoices;
CREATE POLICY tenant_isolation ON tenant_invoices
	USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
	WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));`)
		if err != nil {
			return fmt.Errorf("set up row-level security: %w", err)
		}
		return nil
	})
}

// withTenant runs fn in a transaction that sees only tenant's rows.
// set_config(..., true) is SET LOCAL: the setting ends with the transaction,
// so a pooled connection (or PgBouncer in transaction mode) never carries
// one tenant into another's request.
func withTenant(ctx context.Context, pool *pgxpool.Pool, tenant string, fn func(pgx.Tx) error) error {
	if tenant == "" {
		return errors.New("with tenant: empty tenant id")
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", tenant); err != nil {
			return fmt.Errorf("set tenant: %w", err)
		}
		return fn(tx)
	})
}

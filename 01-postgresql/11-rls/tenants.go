package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// tenantDemo writes invoices as two tenants, then reads as each tenant, as
// nobody, and tries to write into another tenant's rows.
func tenantDemo(ctx context.Context, pool *pgxpool.Pool, stdout io.Writer) error {
	seed := map[string][]int64{"acme": {100, 250}, "globex": {999}}
	for _, tenant := range []string{"acme", "globex"} {
		err := withTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
			// Each run starts the demo's tenants afresh; the policy limits
			// the DELETE to this tenant's rows, other tenants keep theirs.
			if _, err := tx.Exec(ctx, "DELETE FROM tenant_invoices"); err != nil {
				return fmt.Errorf("clear invoices: %w", err)
			}
			for _, cents := range seed[tenant] {
				// tenant_id comes from the column default: the session's tenant.
				if _, err := tx.Exec(ctx,
					"INSERT INTO tenant_invoices (amount_cents) VALUES ($1)", cents); err != nil {
					return fmt.Errorf("insert invoice: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed %s: %w", tenant, err)
		}
	}

	const summary = "SELECT count(*), coalesce(sum(amount_cents), 0) FROM tenant_invoices"
	for _, tenant := range []string{"acme", "globex"} {
		var n, total int64
		err := withTenant(ctx, pool, tenant, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, summary).Scan(&n, &total)
		})
		if err != nil {
			return fmt.Errorf("read as %s: %w", tenant, err)
		}
		fmt.Fprintf(stdout, "tenant %s: %d invoices, %d cents\n", tenant, n, total)
	}

	// No tenant set, on a pooled connection that served a tenant a moment
	// ago: the policy compares with NULL (NULLIF turns the leftover '' into
	// NULL) and matches no row.
	var n int64
	if err := pool.QueryRow(ctx, summary).Scan(&n, new(int64)); err != nil {
		return fmt.Errorf("read without tenant: %w", err)
	}
	fmt.Fprintf(stdout, "no tenant: %d invoices\n", n)

	// A write without a tenant fails closed, on the same warm connection:
	// WITH CHECK compares with NULL, instead of storing a row under tenant
	// '' that every tenant-less session would then see. (Behind the policy,
	// the NULL default and CHECK (tenant_id <> '') refuse it too.)
	_, err := pool.Exec(ctx, "INSERT INTO tenant_invoices (amount_cents) VALUES (1)")
	if err == nil {
		return errors.New("insert without tenant: accepted, want SQLSTATE 42501")
	}
	if code := sqlState(err); code != "42501" {
		return fmt.Errorf("insert without tenant: want SQLSTATE 42501, got %w", err)
	}
	fmt.Fprintf(stdout, "no tenant insert: rejected (SQLSTATE %s)\n", sqlState(err))

	// WITH CHECK rejects a row for another tenant, even one named explicitly.
	err = withTenant(ctx, pool, "acme", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			"INSERT INTO tenant_invoices (tenant_id, amount_cents) VALUES ('globex', 1)")
		return err
	})
	if err == nil {
		return errors.New("cross-tenant insert: accepted, want SQLSTATE 42501")
	}
	if code := sqlState(err); code != "42501" {
		return fmt.Errorf("cross-tenant insert: want SQLSTATE 42501, got %w", err)
	}
	fmt.Fprintf(stdout, "cross-tenant insert: rejected (SQLSTATE %s)\n", sqlState(err))
	return nil
}

// sqlState is the SQLSTATE of a server error, or "" for any other error.
func sqlState(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code
	}
	return ""
}

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
)

// bouncerDemo runs two clients one after the other through PgBouncer in
// transaction mode. With a pool of one server connection (the stack's
// app_single database) both land on the same server session every time.
func bouncerDemo(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	dsn := cmp.Or(getenv("PGBOUNCER_URL"), "postgres://app:app@localhost:6432/app")
	// pgx names a prepared statement after a hash of its SQL. Statements of
	// earlier runs live on in PgBouncer's server connections, so the query
	// carries a per-run comment to start from a clean slate.
	query := fmt.Sprintf("SELECT $1::int + 1 /* run %s */", rand.Text())
	modes := []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement, // the default
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	}
	for _, mode := range modes {
		err := twoClients(ctx, dsn, mode, func(_ int, c *pgx.Conn) error {
			var n int
			return c.QueryRow(ctx, query, 41).Scan(&n)
		})
		if err != nil && !isPgError(err) {
			return err
		}
		fmt.Fprintf(stdout, "%-18s: %s\n", mode, outcome(err))
	}

	// Session state belongs to the server connection, not to the client:
	// a plain SET outlives the transaction and reaches the next client.
	var seen [2]string
	const show = "SELECT coalesce(current_setting('demo.tenant', true), '')"
	err := twoClients(ctx, dsn, pgx.QueryExecModeExec, func(i int, c *pgx.Conn) error {
		if i == 0 {
			_, err := c.Exec(ctx, "SET demo.tenant = 'tenant-a'")
			return err
		}
		defer func() { _, _ = c.Exec(ctx, "RESET demo.tenant") }()
		return c.QueryRow(ctx, show).Scan(&seen[0])
	})
	if err != nil {
		return fmt.Errorf("session SET through pgbouncer: %w", err)
	}
	// SET LOCAL (or set_config(..., true)) ends with the transaction, which
	// is exactly the unit PgBouncer hands out.
	err = twoClients(ctx, dsn, pgx.QueryExecModeExec, func(i int, c *pgx.Conn) error {
		if i == 1 {
			return c.QueryRow(ctx, show).Scan(&seen[1])
		}
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SET LOCAL demo.tenant = 'tenant-b'")
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("SET LOCAL through pgbouncer: %w", err)
	}
	fmt.Fprintf(stdout, "%-18s: client 2 sees %q\n", "SET", seen[0])
	fmt.Fprintf(stdout, "%-18s: client 2 sees %q\n", "SET LOCAL", seen[1])

	// PgBouncer's own metrics, from its admin console: what a dashboard
	// of the pooler shows (a waiting client means the pool is too small).
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return parseError("PGBOUNCER_URL", err)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(newBouncerCollector(cfg)); err != nil {
		return fmt.Errorf("register pgbouncer collector: %w", err)
	}
	return printMetrics(reg, stdout, fmt.Sprintf("database=%q", cfg.Database),
		"pgbouncer_up", "pgbouncer_pools_client_waiting", "pgbouncer_pools_max_wait_seconds")
}

// twoClients opens two connections in the given mode and runs step on the
// first, then on the second.
func twoClients(ctx context.Context, dsn string, mode pgx.QueryExecMode,
	step func(i int, c *pgx.Conn) error) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return parseError("PGBOUNCER_URL", err)
	}
	cfg.DefaultQueryExecMode = mode
	for i := range 2 {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return fmt.Errorf("connect to pgbouncer: %w", err)
		}
		defer closeConn(ctx, c)
		if err := step(i, c); err != nil {
			return fmt.Errorf("client %d: %w", i+1, err)
		}
	}
	return nil
}

// closeConn sends Terminate under a deadline of its own: the caller's
// context may already be spent.
func closeConn(ctx context.Context, c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

func isPgError(err error) bool {
	_, ok := errors.AsType[*pgconn.PgError](err)
	return ok
}

// outcome names the SQLSTATE of a failure; the message would quote the
// per-run statement name.
func outcome(err error) string {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return "ok"
	}
	name := map[string]string{
		"42P05": "duplicate_prepared_statement",
		"26000": "invalid_sql_statement_name",
	}[pgErr.Code]
	return fmt.Sprintf("client 2 fails: SQLSTATE %s %s", pgErr.Code, name)
}

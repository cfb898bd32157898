package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// load creates the demo table from scratch: 200,000 orders, 20 per customer
// in customer order, 1% refunded. VACUUM ANALYZE gives the planner fresh
// statistics and the visibility map an Index Only Scan needs.
func load(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `
DROP TABLE IF EXISTS explain_orders;
CREATE TABLE explain_orders (
	id          bigint PRIMARY KEY,
	customer_id int         NOT NULL,
	status      text        NOT NULL,
	created_at  timestamptz NOT NULL,
	total_cents int         NOT NULL
);
INSERT INTO explain_orders
SELECT i, i / 20,
       CASE WHEN i % 100 = 0 THEN 'refunded' WHEN i % 3 = 0 THEN 'new' ELSE 'shipped' END,
       timestamptz '2026-01-01 00:00:00+00' + (i % 181) * interval '1 day' + (i % 1440) * interval '1 minute',
       (i * 7919) % 100000
FROM generate_series(1, 200000) AS i;`)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE explain_orders"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	return nil
}

// requireStatStatements fails before any work when the extension is missing
// from this database: pg_stat_statements lives per database, and the
// library must be in shared_preload_libraries as well.
func requireStatStatements(ctx context.Context, pool *pgxpool.Pool) error {
	var ok bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_extension
		WHERE extname = 'pg_stat_statements')`).Scan(&ok); err != nil {
		return fmt.Errorf("look up pg_stat_statements: %w", err)
	}
	if !ok {
		return errors.New("pg_stat_statements is not installed in this database: " +
			"CREATE EXTENSION pg_stat_statements (as a superuser)")
	}
	return nil
}

// topQueries resets this database's statistics, runs the lookup 100 times and
// a report 5 times, and prints the statements with the most total execution
// time, marking the lookup by the query id that EXPLAIN VERBOSE reported.
func topQueries(ctx context.Context, pool *pgxpool.Pool, queryID int64, stdout io.Writer) error {
	_, err := pool.Exec(ctx, `SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database
		WHERE datname = current_database()), 0)`)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "42501":
		fmt.Fprintln(stdout, "pg_stat_statements: no permission to reset, figures are cumulative")
	case err != nil:
		return fmt.Errorf("reset pg_stat_statements: %w", err)
	}
	for i := range 100 {
		if _, err := pool.Exec(ctx, byCustomer, i); err != nil {
			return fmt.Errorf("lookup: %w", err)
		}
	}
	// Fewer calls, more time: no index serves this filter, so each call
	// scans the table. Sorted by total time, it comes first.
	for i := range 5 {
		if _, err := pool.Exec(ctx, report, 1000*(i+1)); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT queryid, calls, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 70)
		FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND query NOT LIKE '%pg_stat_statements%'
		ORDER BY total_exec_time DESC LIMIT 3`)
	if err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, calls, nrows int64
		var query string
		if err := rows.Scan(&id, &calls, &nrows, &query); err != nil {
			return fmt.Errorf("read pg_stat_statements: %w", err)
		}
		mark := ""
		if id == queryID {
			mark = " <- the lookup"
		}
		fmt.Fprintf(stdout, "top: calls=%d rows=%d %s%s\n", calls, nrows, query, mark)
	}
	return rows.Err()
}

// Command 07-explain reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) into Go
// structs to show what an index changes — Seq Scan to Index Scan, column
// order in a composite index, a partial index, a covering index giving an
// Index Only Scan — and lists the top queries from pg_stat_statements.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// The lookups the indexes are for.
const (
	byCustomer  = "SELECT id, total_cents FROM explain_orders WHERE customer_id = $1"
	totalOnly   = "SELECT total_cents FROM explain_orders WHERE customer_id = $1"
	byStatusDay = "SELECT id FROM explain_orders WHERE status = $1 AND created_at >= $2 AND created_at < $3"
)

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	// Parallel workers make the plan shape depend on the machine; off for the demo.
	cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := load(ctx, pool); err != nil {
		return err
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

	steps := []struct {
		label string
		ddl   []string
		query string
		args  []any
	}{
		{"no index", nil, byCustomer, []any{4242}},
		{"b-tree on customer_id", []string{
			"CREATE INDEX explain_orders_customer_idx ON explain_orders (customer_id)"},
			byCustomer, []any{4242}},
		// Equality column first: the scan reads one status's rows for the day,
		// not every status's rows for the day.
		{"composite (created_at, status) and (status, created_at)", []string{
			"CREATE INDEX explain_orders_created_status_idx ON explain_orders (created_at, status)",
			"CREATE INDEX explain_orders_status_created_idx ON explain_orders (status, created_at)"},
			byStatusDay, []any{"refunded", day, day.Add(24 * time.Hour)}},
		// Only the rare rows are indexed: a small index for a hot query.
		{"partial index WHERE status = 'refunded'", []string{
			"DROP INDEX explain_orders_created_status_idx, explain_orders_status_created_idx",
			"CREATE INDEX explain_orders_refunded_idx ON explain_orders (created_at) WHERE status = 'refunded'"},
			byStatusDay, []any{"refunded", day, day.Add(24 * time.Hour)}},
		// INCLUDE carries total_cents in the index: no visit to the table.
		// VACUUM sets the visibility map: without it the "Index Only" scan
		// still visits the heap for every row (Heap Fetches).
		{"covering index INCLUDE (total_cents)", []string{
			"DROP INDEX explain_orders_customer_idx",
			"CREATE INDEX explain_orders_customer_total_idx ON explain_orders (customer_id) INCLUDE (total_cents)",
			"VACUUM ANALYZE explain_orders"},
			totalOnly, []any{4242}},
	}
	for _, s := range steps {
		for _, ddl := range s.ddl {
			if _, err := pool.Exec(ctx, ddl); err != nil {
				return fmt.Errorf("%s: %w", s.label, err)
			}
		}
		e, err := explain(ctx, pool, s.query, s.args...)
		if err != nil {
			return fmt.Errorf("%s: %w", s.label, err)
		}
		fmt.Fprintf(stdout, "%s: %s, %d rows\n", s.label, e.Plan.Scan(), int(e.Plan.ActualRows))
	}
	lookup, err := explain(ctx, pool, byCustomer, 1)
	if err != nil {
		return err
	}
	return topQueries(ctx, pool, lookup.QueryID, stdout)
}

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

// topQueries resets this database's statistics, runs the lookup 100 times and
// prints the statements with the most total execution time, marking the
// lookup by the query id that EXPLAIN VERBOSE reported for it.
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

// Command 07-explain reads EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) into Go
// structs to show what an index changes — Seq Scan to Index Scan, column
// order in a composite index, a partial index, a covering index giving an
// Index Only Scan — and lists the top queries from pg_stat_statements.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"

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
	report      = "SELECT count(*) FROM explain_orders WHERE total_cents < $1"
)

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	// Parallel workers make the plan shape depend on the machine; off for the demo.
	cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := requireStatStatements(ctx, pool); err != nil {
		return err
	}
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

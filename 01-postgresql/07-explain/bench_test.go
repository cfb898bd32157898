package main

import (
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func newPool(tb testing.TB, dsn string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(tb.Context(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// BenchmarkLookup: the same lookup of one customer's totals in 200,000 rows
// without an index (Seq Scan), with a B-tree (Index Scan) and with a
// covering index (Index Only Scan).
func BenchmarkLookup(b *testing.B) {
	db := pgtest.NewDatabase(b)
	pool := newPool(b, db.URL)
	if err := load(b.Context(), pool); err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, ddl, node string }{
		{"seq_scan", "", "Seq Scan"},
		{"btree_index_scan", "CREATE INDEX ON explain_orders (customer_id)", "Index Scan"},
		{"covering_index_only_scan", "CREATE INDEX ON explain_orders (customer_id) INCLUDE (total_cents)",
			"Index Only Scan"},
	}
	for _, c := range cases {
		if c.ddl != "" {
			pgtest.Exec(b, db.URL, "DROP INDEX IF EXISTS explain_orders_customer_id_idx", c.ddl,
				"VACUUM ANALYZE explain_orders")
		}
		b.Run(c.name, func(b *testing.B) {
			e, err := explain(b.Context(), pool, totalOnly, 4242)
			if err != nil {
				b.Fatal(err)
			}
			// Measure only the plan the case is named after.
			if got := e.Plan.Scan().NodeType; got != c.node {
				b.Fatalf("plan: %s, want %s", got, c.node)
			}
			i := 0
			for b.Loop() {
				var total int
				rows, err := pool.Query(b.Context(), totalOnly, i%10000)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					if err := rows.Scan(&total); err != nil {
						b.Fatal(err)
					}
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

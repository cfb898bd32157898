package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
)

// newDB is a fresh database with pg_stat_statements, whose reset the app
// role may call.
func newDB(t *testing.T) pgtest.DB {
	t.Helper()
	db := pgtest.NewDatabase(t)
	pgtest.Exec(t, db.AdminURL, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
		"GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO "+
			pgx.Identifier{strings.SplitN(strings.TrimPrefix(db.URL, "postgres://"), ":", 2)[0]}.Sanitize())
	return db
}

func TestRun(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	want := `no index: Seq Scan on explain_orders, 20 rows
b-tree on customer_id: Index Scan using explain_orders_customer_idx, 20 rows
composite (created_at, status) and (status, created_at): Index Scan using explain_orders_status_created_idx, 11 rows
partial index WHERE status = 'refunded': Bitmap Heap Scan on explain_orders via Bitmap Index Scan using explain_orders_refunded_idx, 11 rows
covering index INCLUDE (total_cents): Index Only Scan using explain_orders_customer_total_idx, 20 rows
top: calls=100 rows=1999 SELECT id, total_cents FROM explain_orders WHERE customer_id = $1 <- the lookup
`
	// Twice: the second run drops the first run's indexes and resets the
	// statistics, so it prints the same.
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL}), &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if out.String() != want {
			t.Errorf("run %d output:\n%s\nwant:\n%s", i, out.String(), want)
		}
	}

	conn, err := pgx.Connect(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var indexes string
	var rows int
	if err := conn.QueryRow(t.Context(), `SELECT string_agg(indexname, ',' ORDER BY indexname),
		(SELECT count(*) FROM explain_orders) FROM pg_indexes WHERE tablename = 'explain_orders'`).
		Scan(&indexes, &rows); err != nil {
		t.Fatal(err)
	}
	if indexes != "explain_orders_customer_total_idx,explain_orders_pkey,explain_orders_refunded_idx" || rows != 200000 {
		t.Errorf("indexes = %s, rows = %d", indexes, rows)
	}
}

func TestExplainRejectsBadQuery(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL}), &out); err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, db.URL)
	if _, err := explain(t.Context(), pool, "SELECT nope FROM explain_orders"); err == nil ||
		!strings.Contains(err.Error(), `explain: ERROR: column "nope" does not exist`) {
		t.Errorf("err = %v", err)
	}
}

func ExamplePlan_Scan() {
	raw := `[{"Plan": {"Node Type": "Limit", "Plans": [{"Node Type": "Bitmap Heap Scan",
		"Relation Name": "orders", "Plans": [{"Node Type": "Bitmap Index Scan",
		"Index Name": "orders_status_idx"}]}]}, "Execution Time": 0.42}]`
	var e []Explain
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e[0].Plan.Scan())
	// Output:
	// Bitmap Heap Scan on orders via Bitmap Index Scan using orders_status_idx
}

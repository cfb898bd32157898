package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
)

// newDB is a fresh database with pg_stat_statements, whose reset the app
// role may call (whichever signature the server's version has, as the
// stack's init.sql grants it).
func newDB(t *testing.T) pgtest.DB {
	t.Helper()
	db := pgtest.NewDatabase(t)
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db.AdminURL, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements", fmt.Sprintf(`DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'pg_stat_statements_reset' LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %%s TO %s', f);
  END LOOP;
END $$`, pgx.Identifier{u.User.Username()}.Sanitize()))
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
top: calls=5 rows=5 SELECT count(*) FROM explain_orders WHERE total_cents < $1
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
		testkit.CheckReadme(t, 0, out.String())
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
	pool := newPool(t, pgtest.NewDatabase(t).URL)
	if _, err := explain(t.Context(), pool, "SELECT nope FROM pg_class"); err == nil ||
		!strings.Contains(err.Error(), `explain: ERROR: column "nope" does not exist`) {
		t.Errorf("err = %v", err)
	}
}

// A database without the extension: a clear error before the demo table
// is created.
func TestRun_RequiresStatStatements(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	var out bytes.Buffer
	err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL}), &out)
	if err == nil || !strings.Contains(err.Error(), "pg_stat_statements is not installed in this database") ||
		out.Len() != 0 {
		t.Fatalf("err = %v, output %q; want the missing extension named and no output", err, out.String())
	}
	if got := tableCount(t, db.URL); got != 0 {
		t.Errorf("explain_orders tables = %d, want none", got)
	}
}

// A role without EXECUTE on the reset still gets its plans and a top, and
// is told the figures are cumulative (the load leads them then).
func TestRun_WithoutResetPermission(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	pgtest.Exec(t, db.AdminURL, "CREATE EXTENSION pg_stat_statements")
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL}), &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	const line = "pg_stat_statements: no permission to reset, figures are cumulative\n"
	if !strings.Contains(out.String(), line) || !strings.Contains(out.String(), "\ntop: calls=") {
		t.Errorf("output:\n%s\nwant %q and a top", out.String(), line)
	}
}

func tableCount(t *testing.T, dsn string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_tables WHERE tablename = 'explain_orders'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
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

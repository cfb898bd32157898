package verify

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/go-course/part4-infrastructure/testkit"
)

func TestFreshDatabaseIsNewOwnedByAppAndDropped(t *testing.T) {
	app := testkit.Require(t, testkit.Postgres)
	admin := testkit.Require(t, testkit.PostgresAdmin)
	replica := testkit.Endpoint(testkit.Replica)
	env := []string{"DATABASE_URL=" + app, "DATABASE_ADMIN_URL=" + admin, "DATABASE_REPLICA_URL=" + replica}

	over, drop, err := FreshDatabase(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	dropped := false
	t.Cleanup(func() {
		if !dropped {
			drop()
		}
	})
	got := map[string]string{}
	for _, kv := range over {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	fresh, ok := got["DATABASE_URL"]
	if !ok || fresh == app || got["DATABASE_REPLICA_URL"] == "" {
		t.Fatalf("overrides %v do not point at a new database", over)
	}
	conn, err := pgx.Connect(t.Context(), fresh)
	if err != nil {
		t.Fatalf("connect to the fresh database as app: %v", err)
	}
	var db, owner string
	var tables, ext int
	err = conn.QueryRow(t.Context(), `SELECT current_database(), pg_get_userbyid(datdba),
		(SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),
		(SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements')
		FROM pg_database WHERE datname = current_database()`).Scan(&db, &owner, &tables, &ext)
	_ = conn.Close(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db, "readme_") || owner != "app" || tables != 0 || ext != 1 {
		t.Fatalf("fresh database %s: owner %s, %d tables, pg_stat_statements %d; want readme_*, app, 0, 1", db, owner, tables, ext)
	}

	drop()
	dropped = true
	aconn, err := pgx.Connect(t.Context(), admin)
	if err != nil {
		t.Fatal(err)
	}
	defer aconn.Close(t.Context())
	var n int
	if err := aconn.QueryRow(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", db).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after drop, %s still exists (%d, %v)", db, n, err)
	}
}

func TestFreshDatabaseWithoutPostgresChangesNothing(t *testing.T) {
	over, drop, err := FreshDatabase(t.Context(), []string{"REDIS_ADDR=localhost:6379"})
	if err != nil || len(over) != 0 {
		t.Fatalf("got %v, %v; want no overrides", over, err)
	}
	drop()
}

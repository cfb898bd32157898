package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// tenantDB is a fresh database owned by a fresh role (not a superuser,
// no BYPASSRLS) whose password is random.
type tenantDB struct {
	pgtest.DB
	role, password string
}

func newTenantDB(t *testing.T) tenantDB {
	t.Helper()
	admin := testkit.Require(t, testkit.PostgresAdmin)
	role := testkit.Name(t)
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	password := "s3cret-" + hex.EncodeToString(b[:])
	pgtest.Exec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'",
		pgx.Identifier{role}.Sanitize(), password))
	t.Cleanup(func() {
		pgtest.Exec(t, admin, fmt.Sprintf("DROP ROLE IF EXISTS %s", pgx.Identifier{role}.Sanitize()))
	})
	db := pgtest.NewDatabase(t)
	pgtest.Exec(t, admin, fmt.Sprintf("ALTER DATABASE %s OWNER TO %s",
		pgx.Identifier{db.Name}.Sanitize(), pgx.Identifier{role}.Sanitize()))
	pgtest.Exec(t, db.AdminURL, fmt.Sprintf("ALTER SCHEMA public OWNER TO %s",
		pgx.Identifier{role}.Sanitize()))
	return tenantDB{DB: db, role: role, password: password}
}

// url is the database URL for the role.
func (d tenantDB) url(t *testing.T) string {
	return pgtest.WithDatabase(t, "postgres://"+d.role+":"+d.password+"@"+hostPort(t)+"/", d.Name)
}

func hostPort(t *testing.T) string {
	hp, err := testkit.HostPort(testkit.Postgres, testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

func TestRun(t *testing.T) {
	t.Parallel()
	d := newTenantDB(t)
	getenv := testkit.Getenv(t, map[string]string{"DATABASE_URL": d.url(t)})
	want := `tenant acme: 2 invoices, 350 cents
tenant globex: 1 invoices, 999 cents
no tenant: 0 invoices
no tenant insert: rejected (SQLSTATE 42501)
cross-tenant insert: rejected (SQLSTATE 42501)
`
	// Twice, with another tenant's row in between: a rerun prints the same
	// and leaves that row alone.
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), getenv, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
		if out.String() != want {
			t.Errorf("run %d output:\n%s\nwant:\n%s", i, out.String(), want)
		}
		testkit.CheckReadme(t, 0, out.String())
		if i == 0 {
			pgtest.Exec(t, d.AdminURL, "INSERT INTO tenant_invoices (tenant_id, amount_cents) VALUES ('initech', 7)")
		}
	}

	// The effect, seen by the superuser (who bypasses RLS): every row is
	// stored under its own tenant, and the rejected rows are not there.
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, d.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows string
	if err := conn.QueryRow(ctx, `SELECT string_agg(tenant_id || ':' || amount_cents, ',' ORDER BY id)
		FROM tenant_invoices`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != "initech:7,acme:100,acme:250,globex:999" {
		t.Errorf("rows = %s", rows)
	}
	var forced bool
	if err := conn.QueryRow(ctx, `SELECT relrowsecurity AND relforcerowsecurity
		FROM pg_class WHERE relname = 'tenant_invoices'`).Scan(&forced); err != nil {
		t.Fatal(err)
	}
	if !forced {
		t.Error("row-level security is not enabled and forced")
	}
}

// A role that bypasses RLS (here the superuser) is refused before any
// table is created.
func TestRun_refuses_a_role_that_bypasses_rls(t *testing.T) {
	t.Parallel()
	d := newTenantDB(t)
	var out bytes.Buffer
	err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": d.AdminURL}), &out)
	if err == nil || !strings.Contains(err.Error(), "the role bypasses row-level security") || out.Len() != 0 {
		t.Fatalf("err = %v, output %q; want a refusal before any output", err, out.String())
	}
	var n int
	if err := pgxQueryInt(t, d.AdminURL, "SELECT count(*) FROM pg_tables WHERE tablename = 'tenant_invoices'", &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a refused run created tenant_invoices")
	}
}

func pgxQueryInt(t *testing.T, dsn, q string, dst *int) error {
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		return err
	}
	defer conn.Close(t.Context())
	return conn.QueryRow(t.Context(), q).Scan(dst)
}

// A connection that served a tenant keeps app.tenant_id defined as ”
// after the transaction: on that warm connection a write without a tenant
// must still fail, and no row may be stored under the empty tenant.
func TestRLS_warm_pooled_connection_without_tenant(t *testing.T) {
	t.Parallel()
	d := newTenantDB(t)
	ctx := t.Context()
	cfg, err := pgxpool.ParseConfig(d.url(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // every statement below runs on the same connection
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := setupRLS(ctx, pool); err != nil {
		t.Fatal(err)
	}
	err = withTenant(ctx, pool, "acme", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO tenant_invoices (amount_cents) VALUES (5)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var leftover string
	if err := pool.QueryRow(ctx, "SELECT coalesce(current_setting('app.tenant_id', true), '<null>')").Scan(&leftover); err != nil {
		t.Fatal(err)
	}
	if leftover != "" {
		t.Fatalf("precondition: app.tenant_id on the warm connection = %q, want ''", leftover)
	}

	for name, q := range map[string]string{
		"default_tenant":  "INSERT INTO tenant_invoices (amount_cents) VALUES (1)",
		"explicit_empty":  "INSERT INTO tenant_invoices (tenant_id, amount_cents) VALUES ('', 1)",
		"explicit_tenant": "INSERT INTO tenant_invoices (tenant_id, amount_cents) VALUES ('acme', 1)",
	} {
		if _, err := pool.Exec(ctx, q); sqlState(err) == "" {
			t.Errorf("%s: insert without a tenant: got %v, want a server error", name, err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM tenant_invoices").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("without a tenant the warm connection sees %d rows, want 0", n)
	}

	// Even a role that bypasses RLS cannot store the empty tenant.
	conn, err := pgx.Connect(ctx, d.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "INSERT INTO tenant_invoices (tenant_id, amount_cents) VALUES ('', 1)")
	if code := sqlState(err); code != "23514" {
		t.Errorf("superuser insert of tenant '': got %v, want SQLSTATE 23514", err)
	}
	var rows string
	if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(tenant_id || ':' || amount_cents, ','), '')
		FROM tenant_invoices`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != "acme:5" {
		t.Errorf("stored rows = %q, want acme:5", rows)
	}
}

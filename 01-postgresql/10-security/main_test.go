package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/go-course/part4-infrastructure/testkit/certs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// tenantDB is a fresh database owned by a fresh role whose password is
// random, so the test can search the output for it.
type tenantDB struct {
	pgtest.DB
	role, password, passwordFile string
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

	file := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return tenantDB{DB: db, role: role, password: password, passwordFile: file}
}

// url is the database URL for the role, without a password in it.
func (d tenantDB) url(t *testing.T) string {
	return pgtest.WithDatabase(t, "postgres://"+d.role+"@"+hostPort(t)+"/", d.Name)
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
	testkit.Require(t, testkit.PostgresCA)
	d := newTenantDB(t)
	getenv := testkit.Getenv(t, map[string]string{
		"DATABASE_URL":           d.url(t),
		"DATABASE_PASSWORD_FILE": d.passwordFile,
		"DATABASE_PASSWORD":      "",
	})
	want := fmt.Sprintf(`level=INFO msg=connecting user=%s database=%s password=[REDACTED] password_from=file
tls: pg_stat_ssl ssl=true version=TLSv1.3
tenant acme: 2 invoices, 350 cents
tenant globex: 1 invoices, 999 cents
no tenant: 0 invoices
no tenant insert: rejected (SQLSTATE 42501)
cross-tenant insert: rejected (SQLSTATE 42501)
`, d.role, d.Name)
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
		if strings.Contains(out.String(), d.password) {
			t.Error("the password appears in the output")
		}
		if i == 0 {
			pgtest.Exec(t, d.AdminURL, "INSERT INTO tenant_invoices (tenant_id, amount_cents) VALUES ('initech', 7)")
		}
	}

	// The effect, seen by the superuser (who bypasses RLS): every row is
	// stored under its own tenant, and the rejected row is not there.
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

func TestRun_Rejects(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.PostgresCA)
	d := newTenantDB(t)
	other, err := certs.New(certs.DefaultHosts(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := other.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	crlf := filepath.Join(dir, "crlf")
	if err := os.WriteFile(crlf, []byte(d.password+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	twoLines := filepath.Join(dir, "two-lines")
	if err := os.WriteFile(twoLines, []byte(d.password+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, []byte("not-"+d.password), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"both_password_sources", map[string]string{"DATABASE_PASSWORD_FILE": d.passwordFile, "DATABASE_PASSWORD": d.password},
			"set DATABASE_PASSWORD_FILE or DATABASE_PASSWORD, not both"},
		{"missing_password_file", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "nope")},
			"read DATABASE_PASSWORD_FILE: open"},
		{"empty_password_file", map[string]string{"DATABASE_PASSWORD_FILE": empty},
			"is empty"},
		{"windows_line_end_in_password_file", map[string]string{"DATABASE_PASSWORD_FILE": crlf},
			"a line break inside the password"},
		{"second_newline_in_password_file", map[string]string{"DATABASE_PASSWORD_FILE": twoLines},
			"a line break inside the password"},
		{"malformed_url", map[string]string{"DATABASE_URL": "postgres://" + d.role + ":" + d.password + "@localhost:54x2/app"},
			"parse DATABASE_URL: invalid port"},
		{"wrong_password", map[string]string{"DATABASE_PASSWORD_FILE": wrong},
			"password authentication failed"},
		{"server_cert_from_unknown_ca", map[string]string{"DATABASE_PASSWORD_FILE": d.passwordFile,
			"PG_CA_CERT": filepath.Join(dir, certs.CACert)}, "certificate signed by unknown authority"},
		{"ca_file_without_certificate", map[string]string{"DATABASE_PASSWORD_FILE": d.passwordFile,
			"PG_CA_CERT": empty}, "holds no PEM certificate"},
		{"role_that_bypasses_rls", map[string]string{"DATABASE_URL": d.AdminURL},
			"the role bypasses row-level security"},
		// A server (or a man in the middle) that declines TLS: no plain-text retry.
		{"server_without_tls", map[string]string{"DATABASE_PASSWORD_FILE": d.passwordFile,
			"DATABASE_URL": "postgres://" + d.role + "@" + plainServer(t) + "/" + d.Name},
			"server refused TLS connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": d.url(t), "DATABASE_PASSWORD": ""}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(t.Context(), testkit.Getenv(t, env), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run: got %v, want an error containing %q", err, tt.want)
			}
			pgtest.NoSecret(t, err, d.password)
			if strings.Contains(out.String(), d.password) {
				t.Errorf("the password leaks into the output:\n%s", out.String())
			}
		})
	}
	// Nothing was written by the failed runs.
	var n int
	if err := pgxQueryInt(t, d.AdminURL, "SELECT count(*) FROM pg_tables WHERE tablename = 'tenant_invoices'", &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a failed run created tenant_invoices")
	}
}

// The server refuses the role tls_only on a connection without TLS
// (pg_hba.conf: hostnossl ... reject) and accepts it over verify-full.
func TestServerRefusesPlainConnection(t *testing.T) {
	t.Parallel()
	ca := testkit.Require(t, testkit.PostgresCA)
	u := pgtest.WithDatabase(t, "postgres://tls_only:tls_only@"+hostPort(t)+"/", "app")

	_, err := pgx.Connect(t.Context(), pgtest.WithParams(t, u, "sslmode", "disable"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" || !strings.Contains(pgErr.Message, "no encryption") {
		t.Fatalf("plain connection: got %v, want SQLSTATE 28000 ... no encryption", err)
	}

	conn, err := pgx.Connect(t.Context(), pgtest.WithParams(t, u, "sslmode", "verify-full", "sslrootcert", ca))
	if err != nil {
		t.Fatalf("verify-full connection: %v", err)
	}
	defer conn.Close(t.Context())
	var ssl bool
	if err := conn.QueryRow(t.Context(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("pg_stat_ssl: ssl=%t err=%v", ssl, err)
	}
}

// plainServer is a TCP server that answers every SSLRequest with 'N' (no
// TLS here), as a server without TLS or a downgrading proxy would, and
// counts the connections that go on to send anything more.
func plainServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			wg.Go(func() {
				defer c.Close()
				var req [8]byte // length + SSLRequest code
				if _, err := io.ReadFull(c, req[:]); err != nil {
					return
				}
				if _, err := c.Write([]byte{'N'}); err != nil {
					return
				}
				// A client that went on in plain text would send its
				// startup message now; a refusing one closes.
				if n, _ := c.Read(req[:]); n > 0 {
					t.Errorf("the client sent %d bytes in plain text after the server declined TLS", n)
				}
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func TestVerifyFullKeepsEveryHost(t *testing.T) {
	t.Parallel()
	ca, err := certs.New(certs.DefaultHosts(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig("postgres://app@db1:5432,db2:5433/app?sslmode=prefer")
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyFull(cfg, filepath.Join(dir, certs.CACert)); err != nil {
		t.Fatal(err)
	}
	got := []string{fmt.Sprintf("%s:%d tls=%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port,
		cfg.ConnConfig.TLSConfig.ServerName)}
	for _, fb := range cfg.ConnConfig.Fallbacks {
		name := "none"
		if fb.TLSConfig != nil {
			name = fb.TLSConfig.ServerName
		}
		got = append(got, fmt.Sprintf("%s:%d tls=%s", fb.Host, fb.Port, name))
	}
	if want := "db1:5432 tls=db1,db2:5433 tls=db2"; strings.Join(got, ",") != want {
		t.Errorf("hosts = %s, want %s", strings.Join(got, ","), want)
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

func ExampleSecret() {
	s := Secret("hunter2")
	fmt.Println(s)
	fmt.Printf("%v %q %#v\n", s, s, s)
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("login", "password", s)
	// Output:
	// [REDACTED]
	// [REDACTED] "[REDACTED]" [REDACTED]
	// level=INFO msg=login password=[REDACTED]
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
	cfg.ConnConfig.Password = d.password
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

// The README's run: the password in DATABASE_URL, as the stack's app role
// has it. The test's own role and database stand in for app/app.
func TestRun_matches_readme(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.PostgresCA)
	d := newTenantDB(t)
	u := pgtest.WithDatabase(t, "postgres://"+d.role+":"+d.password+"@"+hostPort(t)+"/", d.Name)
	getenv := testkit.Getenv(t, map[string]string{"DATABASE_URL": u, "DATABASE_PASSWORD_FILE": "", "DATABASE_PASSWORD": ""})
	var out bytes.Buffer
	if err := run(t.Context(), getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := strings.Replace(out.String(), "user="+d.role+" database="+d.Name, "user=app database=app", 1)
	testkit.CheckReadme(t, 0, got)
}

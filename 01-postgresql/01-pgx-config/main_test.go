package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/go-course/part4-infrastructure/testkit/certs"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func requireStack(t *testing.T) {
	t.Helper()
	testkit.Require(t, testkit.Postgres)
	testkit.Require(t, testkit.PostgresCA)
}

func TestRun_prints_effective_settings(t *testing.T) {
	requireStack(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, nil), &out); err != nil {
		t.Fatal(err)
	}
	want := `application_name  = 01-pgx-config
statement_timeout = 1s
lock_timeout      = 500ms
search_path       = public
tls               = TLSv1.3, verify-full
no deadline       : query without a context deadline
pg_sleep(10)      : canceling statement due to statement timeout (SQLSTATE 57014)
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// newPool opens a pool with the example's config; the test closes it.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	requireStack(t)
	cfg, err := newPoolConfig(testkit.Getenv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestConfig_server_sees_name_and_tls(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// pg_stat_activity and pg_stat_ssl are the server's view of this very
	// session, not a value the client echoes back.
	var name string
	var ssl bool
	err := pool.QueryRow(ctx, `SELECT a.application_name, s.ssl
		FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
		WHERE a.pid = pg_backend_pid()`).Scan(&name, &ssl)
	if err != nil {
		t.Fatal(err)
	}
	if name != appName || !ssl {
		t.Errorf("application_name=%q ssl=%v, want %q true", name, ssl, appName)
	}
}

func TestConfig_statement_timeout_cancels_pg_sleep(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := pool.Exec(ctx, "SELECT pg_sleep(30)")
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	if !ok || pgErr.Code != "57014" {
		t.Fatalf("err = %v, want SQLSTATE 57014", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the client deadline fired, not statement_timeout")
	}
	// The connection survives the cancel and serves the next query.
	var one int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestConfig_lock_timeout_gives_up_waiting(t *testing.T) {
	t.Parallel()
	table := testkit.Name(t)
	t.Run("lock", func(t *testing.T) { lockTimeoutGivesUp(t, table) })
	// The subtest's cleanup has run: its table is gone. A cleanup whose
	// context has no deadline is refused by PrepareConn and left it behind.
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var left bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&left); err != nil || left {
		t.Errorf("table %s left behind by the test (err %v)", table, err)
	}
}

func lockTimeoutGivesUp(t *testing.T, table string) {
	pool := newPool(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (id int)"); err != nil {
		t.Fatal(err)
	}
	// Cleanups run after t.Context() is canceled: their own deadline, which
	// the example's PrepareConn also insists on, and a loud failure.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
			t.Errorf("drop %s: %v", table, err)
		}
	})
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback(ctx) }()
	if _, err := holder.Exec(ctx, "LOCK TABLE "+table); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctx, "SELECT * FROM "+table)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); !ok || pgErr.Code != "55P03" {
		t.Fatalf("err = %v, want SQLSTATE 55P03 (lock_not_available)", err)
	}
}

func TestRun_rejects_bad_config_without_leaking_the_password(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	tests := []struct {
		name, url, want string
	}{
		{"invalid_port", "postgres://app:" + secret + "@localhost:54x2/app", "invalid port"},
		{"bad_percent_encoding", "postgres://app:s3c%zz" + secret + "@localhost/app", "invalid percent-encoded token"},
		{"unknown_sslmode", "postgres://app:" + secret + "@localhost/app?sslmode=bogus", "sslmode is invalid"},
		{"bad_connect_timeout", "postgres://app:" + secret + "@localhost/app?connect_timeout=x", "invalid connect_timeout"},
		{"keyword_form", "host=localhost password=" + secret + " port=x", "invalid port"},
		{"several_hosts", "postgres://app:" + secret + "@localhost:5432,db2:5432/app", "want one host, got db2 too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			getenv := testkit.Getenv(t, map[string]string{"DATABASE_URL": tt.url})
			err := run(t.Context(), getenv, &out)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "parse DATABASE_URL: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not name the problem %q", msg, tt.want)
			}
			testkit.NoSecret(t, err, secret)
			if out.Len() != 0 {
				t.Errorf("printed %q before failing", out.String())
			}
		})
	}
}

func TestRun_rejects_missing_or_invalid_CA(t *testing.T) {
	t.Parallel()
	notPEM := t.TempDir() + "/ca.crt"
	writeFile(t, notPEM, "not a certificate")
	tests := []struct{ name, path, want string }{
		{"missing_file", t.TempDir() + "/absent.crt", "read PG_CA_CERT: open "},
		{"not_pem", notPEM, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := testkit.Getenv(t, map[string]string{"PG_CA_CERT": tt.path})
			err := run(t.Context(), getenv, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// A server certificate from another CA must end the connection attempt;
// with the fallbacks removed there is no retry without TLS either.
func TestRun_rejects_server_signed_by_another_CA(t *testing.T) {
	t.Parallel()
	requireStack(t)
	other, err := certs.New(certs.DefaultHosts(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caPath := t.TempDir() + "/other-ca.crt"
	writeFile(t, caPath, string(other.CACert))
	var out bytes.Buffer
	err = run(t.Context(), testkit.Getenv(t, map[string]string{"PG_CA_CERT": caPath}), &out)
	const want = "certificate signed by unknown authority"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q over an unverified connection", out.String())
	}
}

// AfterConnect refuses the replica, which reports in_hot_standby=on.
func TestRun_refuses_a_hot_standby(t *testing.T) {
	t.Parallel()
	requireStack(t)
	replica := testkit.Require(t, testkit.Replica)
	var out bytes.Buffer
	err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": replica}), &out)
	const want = "connected to a hot standby, want the primary"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q from the standby", out.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

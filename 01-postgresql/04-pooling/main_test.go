package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// singleURL is PGBOUNCER_URL pointed at the stack's app_single database: a
// PgBouncer pool of one server connection, so every client shares it and
// the demonstrations below fail or pass the same way on every run.
func singleURL(t *testing.T) string {
	t.Helper()
	return pgtest.WithDatabase(t, testkit.Require(t, testkit.PgBouncer), "app_single")
}

func TestRun_pool_metrics_and_pgbouncer_modes(t *testing.T) {
	testkit.Require(t, testkit.Postgres)
	var out bytes.Buffer
	getenv := testkit.Getenv(t, map[string]string{"PGBOUNCER_URL": singleURL(t)})
	if err := run(t.Context(), getenv, &out); err != nil {
		t.Fatal(err)
	}
	want := `holding 4 of 4 connections
next acquire      : gave up after 200ms: context deadline exceeded
pgxpool_max_conns{pool="primary"} 4
pgxpool_total_conns{pool="primary"} 4
pgxpool_acquired_conns{pool="primary"} 0
pgxpool_acquires_total{pool="primary"} 4
pgxpool_canceled_acquires_total{pool="primary"} 1
cache statement   : client 2 fails: SQLSTATE 42P05 duplicate_prepared_statement
cache describe    : ok
exec              : ok
simple protocol   : ok
SET               : client 2 sees "tenant-a"
SET LOCAL         : client 2 sees ""
pgbouncer_up 1
pgbouncer_pools_client_waiting{database="app_single",user="app"} 0
pgbouncer_pools_max_wait_seconds{database="app_single",user="app"} 0
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// newPool opens a pool with the example's sizing and an application_name
// unique to the test, so the server's own view of it can be counted.
func newPool(t *testing.T, maxConns int32) (*pgxpool.Pool, string) {
	t.Helper()
	cfg, err := newPoolConfig(testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	name := testkit.Name(t)
	cfg.MaxConns = maxConns
	cfg.MinConns = 0 // no background connection to race the counts
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, name
}

func TestCollector_matches_the_servers_view(t *testing.T) {
	t.Parallel()
	pool, name := newPool(t, 4)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	held := make([]*pgxpool.Conn, 3)
	for i := range held {
		c, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
		held[i] = c
	}
	total := pool.Stat().TotalConns()
	want := `
# HELP pgxpool_acquired_conns Connections handed out to callers.
# TYPE pgxpool_acquired_conns gauge
pgxpool_acquired_conns{pool="primary"} 3
# HELP pgxpool_max_conns Maximum size of the pool.
# TYPE pgxpool_max_conns gauge
pgxpool_max_conns{pool="primary"} 4
# HELP pgxpool_total_conns Connections in the pool: idle, acquired and being built.
# TYPE pgxpool_total_conns gauge
pgxpool_total_conns{pool="primary"} 3
`
	err := testutil.CollectAndCompare(newPoolCollector(pool, "primary"), strings.NewReader(want),
		"pgxpool_acquired_conns", "pgxpool_max_conns", "pgxpool_total_conns")
	if err != nil {
		t.Error(err)
	}
	// Every connection the metric counts is a backend on the server.
	var backends int32
	err = held[0].QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
		name).Scan(&backends)
	if err != nil {
		t.Fatal(err)
	}
	if backends != 3 || total != 3 {
		t.Errorf("server sees %d backends, pool reports %d, want 3", backends, total)
	}
}

func TestPool_exhausted_acquire_fails_at_its_deadline(t *testing.T) {
	t.Parallel()
	pool, _ := newPool(t, 1)
	held, err := pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := pool.Exec(ctx, "SELECT 1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if n := pool.Stat().CanceledAcquireCount(); n != 1 {
		t.Errorf("canceled acquires = %d, want 1", n)
	}
	// Released, the connection serves the next caller at once.
	held.Release()
	if _, err := pool.Exec(t.Context(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
}

func TestPgBouncer_modes_with_one_server_connection(t *testing.T) {
	t.Parallel()
	dsn := singleURL(t)
	query := "SELECT $1::int /* " + testkit.Name(t) + " */"
	tests := []struct {
		mode pgx.QueryExecMode
		code string // SQLSTATE of client 2, "" for success
	}{
		// Client 1 prepares stmtcache_<hash> on the server connection;
		// client 2 computes the same name and prepares it again.
		{pgx.QueryExecModeCacheStatement, "42P05"},
		// The unnamed statement is replaced by every Parse: nothing to clash.
		{pgx.QueryExecModeCacheDescribe, ""},
		{pgx.QueryExecModeExec, ""},
		{pgx.QueryExecModeSimpleProtocol, ""},
	}
	for _, tt := range tests {
		ctx := t.Context()
		var got [2]int
		err := twoClients(ctx, dsn, tt.mode, func(i int, c *pgx.Conn) error {
			return c.QueryRow(ctx, query, i+7).Scan(&got[i])
		})
		pgErr, _ := errors.AsType[*pgconn.PgError](err)
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%v: %v", tt.mode, err)
		case tt.code == "" && got != [2]int{7, 8}:
			t.Errorf("%v: results %v, want [7 8]", tt.mode, got)
		case tt.code != "" && (pgErr == nil || pgErr.Code != tt.code):
			t.Errorf("%v: err = %v, want SQLSTATE %s", tt.mode, err, tt.code)
		case tt.code != "" && !strings.HasPrefix(err.Error(), "client 2: "):
			t.Errorf("%v: %v, want client 2 to fail", tt.mode, err)
		}
	}
}

func TestPgBouncer_session_SET_leaks_and_SET_LOCAL_does_not(t *testing.T) {
	t.Parallel()
	dsn := singleURL(t)
	// A setting name of its own keeps parallel tests apart.
	setting := "demo." + testkit.Name(t)
	show := fmt.Sprintf("SELECT coalesce(current_setting('%s', true), '')", setting)
	ctx := t.Context()
	var seen string
	err := twoClients(ctx, dsn, pgx.QueryExecModeExec, func(i int, c *pgx.Conn) error {
		if i == 0 {
			_, err := c.Exec(ctx, fmt.Sprintf("SET %s = 'leaked'", setting))
			return err
		}
		defer func() { _, _ = c.Exec(ctx, "RESET "+setting) }()
		return c.QueryRow(ctx, show).Scan(&seen)
	})
	if err != nil || seen != "leaked" {
		t.Fatalf("session SET: client 2 saw %q (err %v), want %q", seen, err, "leaked")
	}
	err = twoClients(ctx, dsn, pgx.QueryExecModeExec, func(i int, c *pgx.Conn) error {
		if i == 1 {
			return c.QueryRow(ctx, show).Scan(&seen)
		}
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SELECT set_config($1, 'scoped', true)", setting)
			return err
		})
	})
	if err != nil || seen != "" {
		t.Fatalf("SET LOCAL: client 2 saw %q (err %v), want nothing", seen, err)
	}
}

// MaxConnLifetime is enforced by the background health check: an idle
// connection past its lifetime is closed without any caller acquiring it,
// and the pool is topped up to MinConns with a new backend.
func TestPool_health_check_replaces_expired_connections(t *testing.T) {
	t.Parallel()
	cfg, err := newPoolConfig(testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MinConns = 1
	cfg.MaxConnLifetime = 300 * time.Millisecond
	cfg.MaxConnLifetimeJitter = 0
	cfg.HealthCheckPeriod = 50 * time.Millisecond
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// The pool opens its MinConns connection in the background; wait for
	// it, so the query below uses it and no second one is opened.
	waitFor(ctx, t, pool, "the MinConns connection", func(s *pgxpool.Stat) bool { return s.IdleConns() == 1 })
	var first uint32
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&first); err != nil {
		t.Fatal(err)
	}
	// No caller acquires while the health check closes the expired
	// connection and opens its replacement.
	before := pool.Stat()
	waitFor(ctx, t, pool, "a lifetime recycle", func(s *pgxpool.Stat) bool {
		return s.MaxLifetimeDestroyCount() > before.MaxLifetimeDestroyCount() &&
			s.NewConnsCount() > before.NewConnsCount() && s.IdleConns() == 1
	})
	var next uint32
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next == first {
		t.Errorf("backend %d still serves after its lifetime", first)
	}
}

// waitFor polls pool.Stat until cond holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, pool *pgxpool.Pool, what string, cond func(*pgxpool.Stat) bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond(pool.Stat()) {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// PgBouncer's exporter during a saturated pool: app_single has one server
// connection; one client holds it in a transaction, the next one queues in
// PgBouncer, and SHOW POOLS says so until the first one is done.
func TestBouncerCollector_shows_a_saturated_pool(t *testing.T) {
	url := singleURL(t)
	ctx := t.Context()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	reg := prometheus.NewRegistry()
	reg.MustRegister(newBouncerCollector(cfg))
	value := func(name string) float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range families {
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if mf.GetName() == name && (len(labels) == 0 || labels["database"] == "app_single") {
					return m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
		}
		t.Fatalf("no %s for app_single", name)
		return 0
	}
	if value("pgbouncer_up") != 1 {
		t.Fatal("pgbouncer_up = 0: the admin console did not answer")
	}
	xacts := value("pgbouncer_stats_transactions_total")

	holder, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.WithoutCancel(ctx))
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	waiter, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(ctx, "SELECT 1")
		done <- err
	}()

	testkit.Eventually(t, 10*time.Second, func() error {
		if w := value("pgbouncer_pools_client_waiting"); w != 1 {
			return fmt.Errorf("client_waiting = %g, want 1", w)
		}
		return nil
	})
	if a := value("pgbouncer_pools_server_active"); a != 1 {
		t.Errorf("server_active = %g, want 1: the one server connection is lent out", a)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the queued client: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if w := value("pgbouncer_pools_client_waiting"); w != 0 {
			return fmt.Errorf("client_waiting = %g, want 0", w)
		}
		return nil
	})
	if got := value("pgbouncer_stats_transactions_total"); got < xacts+2 {
		t.Errorf("transactions_total = %g, want at least %g", got, xacts+2)
	}
}

// A console that does not answer is pgbouncer_up 0, not a failed scrape.
func TestBouncerCollector_down(t *testing.T) {
	t.Parallel()
	cfg, err := pgx.ParseConfig("postgres://app:app@127.0.0.1:1/app?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(newBouncerCollector(cfg)); got != 0 {
		t.Errorf("pgbouncer_up = %g, want 0", got)
	}
}

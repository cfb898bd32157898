package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// newDB returns a fresh database that the replica has already received.
func newDB(t *testing.T) pgtest.DB {
	t.Helper()
	testkit.Require(t, testkit.Replica)
	db := pgtest.NewDatabase(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := pgx.Connect(t.Context(), db.ReplicaURL)
		if err == nil {
			conn.Close(t.Context())
			return db
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never got database %s: %v", db.Name, err)
		}
		pause(t)
	}
}

// pause paces a polling loop; no result depends on its length.
func pause(t *testing.T) {
	select {
	case <-time.After(20 * time.Millisecond):
	case <-t.Context().Done():
	}
}

func newPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestRun(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var out bytes.Buffer
	// Bounds a service could run with. The stack is shared: other tests
	// bulk-load tens of MiB of WAL at the same time, which the replica has
	// to replay before it answers (TestReplayPausedSendsReadsToThePrimary
	// is the test of the bound itself).
	err := run(t.Context(), testkit.Getenv(t, map[string]string{
		"DATABASE_URL": db.URL, "DATABASE_REPLICA_URL": db.ReplicaURL,
		"REPLICA_MAX_LAG_MIB": "256", "REPLICA_WAIT": "10s"}), &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := `write: order 1 paid, on the primary
read after write: order 1 paid, from the replica
replica lag: sampled in the background, bound 256 MiB
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	testkit.CheckReadme(t, 0, out.String())
	var status string
	if err := newPool(t, db.ReplicaURL).QueryRow(t.Context(),
		"SELECT status FROM replica_orders WHERE id = 1").Scan(&status); err != nil || status != "paid" {
		t.Errorf("replica has status=%q err=%v, want paid", status, err)
	}
}

// readStatus is the read the tests route.
func readStatus(ctx context.Context, r *Router, after LSN) (Source, string, error) {
	var status string
	src, err := r.Read(ctx, after, func(db *pgxpool.Pool) error {
		return db.QueryRow(ctx, "SELECT status FROM replica_orders WHERE id = 1").Scan(&status)
	})
	return src, status, err
}

func TestReplicaDownFallsBackToPrimary(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	proxy, proxyURL := faultproxy.ForURL(t, db.ReplicaURL)
	r := newRouter(t, newPool(t, db.URL), newPool(t, proxyURL), Options{MaxLagBytes: 256 << 20})
	pgtest.Exec(t, db.URL, "CREATE TABLE replica_orders (id bigint PRIMARY KEY, status text NOT NULL)")
	lsn, err := r.Write(t.Context(), func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), "INSERT INTO replica_orders VALUES (1, 'new')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, status, err := readStatus(t.Context(), r, lsn); err != nil || status != "new" {
		t.Fatalf("before the cut: %q %v, want new", status, err)
	}
	waitForSource(t, r, FromReplica)

	// Cut: the read that hits the dead replica falls back at once, and
	// the sampler's failed (then stale) sample keeps later reads away.
	proxy.Cut()
	if src, status, err := readStatus(t.Context(), r, ""); err != nil || status != "new" {
		t.Fatalf("replica cut: %s %q %v, want the primary to answer new", src, status, err)
	}
	waitForSource(t, r, FromPrimary)

	proxy.Restore(t)
	waitForSource(t, r, FromReplica)
}

// newRouter starts a router with quick sampling; the test closes it.
func newRouter(t *testing.T, primary, replica *pgxpool.Pool, opt Options) *Router {
	t.Helper()
	opt.WaitFor = cmp.Or(opt.WaitFor, 5*time.Second)
	opt.Probe = cmp.Or(opt.Probe, 2*time.Second)
	opt.Every = cmp.Or(opt.Every, 20*time.Millisecond)
	opt.Stale = cmp.Or(opt.Stale, 3*time.Second)
	r := NewRouter(primary, replica, opt)
	t.Cleanup(r.Close)
	return r
}

// waitForSource polls unordered reads until want answers them.
func waitForSource(t *testing.T, r *Router, want Source) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, func() error {
		src, status, err := readStatus(t.Context(), r, "")
		if err != nil || status != "new" {
			return fmt.Errorf("read: %s %q: %w", src, status, err)
		}
		if src != want {
			return fmt.Errorf("reads go to the %s, want the %s", src, want)
		}
		return nil
	})
}

func TestFallsBackWhenReplicaIsBehind(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pgtest.Exec(t, db.URL, "CREATE TABLE replica_orders (id bigint PRIMARY KEY, status text NOT NULL)",
		"INSERT INTO replica_orders VALUES (1, 'new')")
	tests := []struct {
		name  string
		opt   Options
		after LSN
	}{
		// A write the replica cannot have replayed yet: the wait ends at WaitFor.
		{"write_not_replayed_within_wait", Options{MaxLagBytes: 16 << 20, WaitFor: 100 * time.Millisecond}, "FFFFFFFF/0"},
		// A bound no replica meets.
		{"lag_beyond_bound", Options{MaxLagBytes: -1}, ""},
		// A sample older than Stale: the sampler is stuck or too slow.
		{"stale_sample", Options{MaxLagBytes: 16 << 20, Every: time.Hour, Stale: time.Nanosecond}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRouter(t, newPool(t, db.URL), newPool(t, db.ReplicaURL), tt.opt)
			src, status, err := readStatus(t.Context(), r, tt.after)
			if err != nil || src != FromPrimary || status != "new" {
				t.Errorf("%s %q %v, want the primary to answer new", src, status, err)
			}
		})
	}
}

func TestRun_RejectsBadConfig(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"lag_not_a_number", map[string]string{"REPLICA_MAX_LAG_MIB": "lots"}, `REPLICA_MAX_LAG_MIB: want a whole number of MiB >= 0, got "lots"`},
		{"negative_lag", map[string]string{"REPLICA_MAX_LAG_MIB": "-1"}, `REPLICA_MAX_LAG_MIB: want a whole number of MiB >= 0, got "-1"`},
		{"wait_without_unit", map[string]string{"REPLICA_WAIT": "2"}, `REPLICA_WAIT: want a positive duration such as 2s, got "2"`},
		{"zero_wait", map[string]string{"REPLICA_WAIT": "0s"}, `REPLICA_WAIT: want a positive duration such as 2s, got "0s"`},
		{"bad_database_url", map[string]string{"DATABASE_URL": "postgres://%zz"}, "parse DATABASE_URL: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": db.URL, "DATABASE_REPLICA_URL": db.ReplicaURL}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(t.Context(), testkit.Getenv(t, env), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) || out.Len() != 0 {
				t.Errorf("err=%v output=%q, want an error containing %q before any work", err, out.String(), tt.want)
			}
		})
	}
	// Nothing was written by the rejected runs.
	var n int
	if err := newPool(t, db.URL).QueryRow(t.Context(),
		"SELECT count(*) FROM pg_tables WHERE tablename = 'replica_orders'").Scan(&n); err != nil || n != 0 {
		t.Errorf("replica_orders tables = %d (%v), want 0", n, err)
	}
}

// DATABASE_REPLICA_URL pointing at the primary: the lag check says so and
// reads that wait for a write go to the primary, instead of "zero lag".
func TestRun_ReplicaURLIsAPrimary(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var out bytes.Buffer
	err := run(t.Context(), testkit.Getenv(t, map[string]string{
		"DATABASE_URL": db.URL, "DATABASE_REPLICA_URL": db.URL}), &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := `write: order 1 paid, on the primary
read after write: order 1 paid, from the primary
replica lag: unknown (replica is not a standby: pg_is_in_recovery() is false)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestWriteErrorReturnsNoLSN(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	r := newRouter(t, newPool(t, db.URL), newPool(t, db.ReplicaURL), Options{})
	boom := errors.New("boom")
	lsn, err := r.Write(t.Context(), func(tx pgx.Tx) error { return boom })
	if !errors.Is(err, boom) || lsn != "" {
		t.Errorf("lsn=%q err=%v, want no LSN and the error", lsn, err)
	}
}

// Real lag: replay paused on the replica while the primary writes. Reads
// go to the primary while the replica is behind, and back to the replica
// after replay resumes. Not parallel: pausing replay holds back every
// other test of the package that waits for the replica.
func TestReplayPausedSendsReadsToThePrimary(t *testing.T) {
	db := newDB(t)
	replicaAdmin := replicaAdminURL(t, db.Name)
	pgtest.Exec(t, db.URL, "CREATE TABLE replica_orders (id bigint PRIMARY KEY, status text NOT NULL)",
		"INSERT INTO replica_orders VALUES (1, 'new')")
	r := newRouter(t, newPool(t, db.URL), newPool(t, db.ReplicaURL), Options{MaxLagBytes: 1 << 20})
	waitForSource(t, r, FromReplica)

	pgtest.Exec(t, replicaAdmin, "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { pgtest.Exec(t, replicaAdmin, "SELECT pg_wal_replay_resume()") })
	// Several MiB of WAL the replica receives but does not replay.
	pgtest.Exec(t, db.URL, `CREATE TABLE filler AS
		SELECT i, repeat('x', 200) AS pad FROM generate_series(1, 40000) AS i`)
	waitForSource(t, r, FromPrimary)
	if lag, _, err := r.Lag(); err != nil || lag <= 1<<20 {
		t.Errorf("lag = %d (%v), want more than 1 MiB while replay is paused", lag, err)
	}

	pgtest.Exec(t, replicaAdmin, "SELECT pg_wal_replay_resume()")
	waitForSource(t, r, FromReplica)
}

// replicaAdminURL is DATABASE_ADMIN_URL (the superuser, who may pause
// replay) pointed at the replica's host and port and at database name.
func replicaAdminURL(t *testing.T, name string) string {
	t.Helper()
	admin, err := url.Parse(testkit.Require(t, testkit.PostgresAdmin))
	if err != nil {
		t.Fatal("parse DATABASE_ADMIN_URL")
	}
	replica, err := url.Parse(testkit.Require(t, testkit.Replica))
	if err != nil {
		t.Fatal("parse DATABASE_REPLICA_URL")
	}
	admin.Host = replica.Host
	return pgtest.WithDatabase(t, admin.String(), name)
}

// A read costs no query on the primary: the lag comes from the sampler.
func TestReadDoesNotQueryThePrimary(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pgtest.Exec(t, db.URL, "CREATE TABLE replica_orders (id bigint PRIMARY KEY, status text NOT NULL)",
		"INSERT INTO replica_orders VALUES (1, 'new')")
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	replica := newPool(t, db.ReplicaURL)
	testkit.Eventually(t, 30*time.Second, func() error {
		var n int
		return replica.QueryRow(t.Context(), "SELECT count(*) FROM replica_orders").Scan(&n)
	})
	var queries atomic.Int64
	cfg.ConnConfig.Tracer = countQueries{&queries}
	primary, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(primary.Close)
	// The bound is not under test here: no concurrent load may send these
	// reads to the primary.
	r := newRouter(t, primary, replica, Options{MaxLagBytes: 1 << 40, Every: time.Hour, Stale: time.Minute})
	before := queries.Load()
	for range 10 {
		if src, _, err := readStatus(t.Context(), r, ""); err != nil || src != FromReplica {
			t.Fatalf("read: %s %v, want the replica", src, err)
		}
	}
	if n := queries.Load() - before; n != 0 {
		t.Errorf("10 reads ran %d queries on the primary, want 0", n)
	}
}

type countQueries struct{ n *atomic.Int64 }

func (c countQueries) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (countQueries) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
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
	// Other tests load data in parallel: generous bounds keep the replica
	// in play however busy the machine is.
	err := run(t.Context(), testkit.Getenv(t, map[string]string{
		"DATABASE_URL": db.URL, "DATABASE_REPLICA_URL": db.ReplicaURL,
		"REPLICA_MAX_LAG_MIB": "1048576", "REPLICA_WAIT": "30s"}), &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := `write: order 1 paid, on the primary
read after write: order 1 paid, from the replica
replica lag within REPLICA_MAX_LAG_MIB: true
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
	r := &Router{Primary: newPool(t, db.URL), Replica: newPool(t, proxyURL),
		MaxLagBytes: 1 << 40, WaitFor: 30 * time.Second, Probe: 5 * time.Second}
	pgtest.Exec(t, db.URL, "CREATE TABLE replica_orders (id bigint PRIMARY KEY, status text NOT NULL)")
	lsn, err := r.Write(t.Context(), func(tx pgx.Tx) error {
		_, err := tx.Exec(t.Context(), "INSERT INTO replica_orders VALUES (1, 'new')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if src, status, err := readStatus(t.Context(), r, lsn); err != nil || src != FromReplica || status != "new" {
		t.Fatalf("before the cut: %s %q %v, want the replica to answer new", src, status, err)
	}

	proxy.Cut()
	if src, status, err := readStatus(t.Context(), r, ""); err != nil || src != FromPrimary || status != "new" {
		t.Fatalf("replica cut: %s %q %v, want the primary to answer new", src, status, err)
	}

	proxy.Restore(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		src, status, err := readStatus(t.Context(), r, "")
		if err != nil || status != "new" {
			t.Fatalf("after restore: %s %q %v", src, status, err)
		}
		if src == FromReplica {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("reads never returned to the replica")
		}
		pause(t)
	}
}

func TestFallsBackWhenReplicaIsBehind(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	pgtest.Exec(t, db.URL, "CREATE TABLE replica_orders (id bigint PRIMARY KEY, status text NOT NULL)",
		"INSERT INTO replica_orders VALUES (1, 'new')")
	tests := []struct {
		name  string
		r     *Router
		after LSN
	}{
		// A write the replica cannot have replayed yet: the wait ends at WaitFor.
		{"write_not_replayed_within_wait", &Router{MaxLagBytes: 16 << 20, WaitFor: 100 * time.Millisecond}, "FFFFFFFF/0"},
		// A bound no replica meets.
		{"lag_beyond_bound", &Router{MaxLagBytes: -1, WaitFor: time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Primary, tt.r.Replica, tt.r.Probe = newPool(t, db.URL), newPool(t, db.ReplicaURL), time.Second
			src, status, err := readStatus(t.Context(), tt.r, tt.after)
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
	r := &Router{Primary: newPool(t, db.URL), Replica: newPool(t, db.ReplicaURL), Probe: time.Second}
	boom := errors.New("boom")
	lsn, err := r.Write(t.Context(), func(tx pgx.Tx) error { return boom })
	if !errors.Is(err, boom) || lsn != "" {
		t.Errorf("lsn=%q err=%v, want no LSN and the error", lsn, err)
	}
}

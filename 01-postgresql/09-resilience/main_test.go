package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sony/gobreaker/v2"
)

func TestRun(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	getenv := testkit.Getenv(t, map[string]string{"DATABASE_URL": db.URL})
	want := `pay inv-1: stored=true (attempts=1)
same request again: stored=false (attempts=1)
same request id, other amount: rejected: pay req-1: request id already used for another payment (attempts=1)
new request, same invoice: not retried: SQLSTATE 23505 resilience_payments_invoice_key (attempts=1)
  retry after: injected: read tcp: connection reset by peer
pay inv-3, reset after commit: stored=false (attempts=2)
breaker: closed
database down, call 1: attempts=4 breaker=closed
database down, call 2: attempts=2 breaker=open
database down, call 3: attempts=1 breaker=open
`
	// Twice: the second run starts from the same state and leaves rows
	// that are not the demo's alone.
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if out.String() != want {
			t.Errorf("run %d output:\n%s\nwant:\n%s", i, out.String(), want)
		}
		testkit.CheckReadme(t, 0, out.String())
		if i == 0 {
			pgtest.Exec(t, db.URL, `INSERT INTO resilience_payments VALUES ('req-other', 'inv-other', 1)`)
		}
	}
	if got := countPayments(t, db.URL, "req-other"); got != 1 {
		t.Errorf("req-other rows = %d, want 1: a rerun deleted a row that is not the demo's", got)
	}
	if got := countPayments(t, db.URL, "req-1"); got != 1 {
		t.Errorf("req-1 rows = %d, want 1", got)
	}
	if got := countPayments(t, db.URL, "req-3"); got != 1 {
		t.Errorf("req-3 rows = %d, want 1: the retry after the reset wrote a second row or none", got)
	}
	if got := countPayments(t, db.URL, "req-2"); got != 0 {
		t.Errorf("req-2 rows = %d, want 0", got)
	}
}

// fastPolicy keeps the tests quick: short waits, the breaker opens after 3
// failures and probes after 100 ms.
func fastPolicy() Policy {
	return Policy{MaxTries: 3, InitialDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond,
		TripAfter: 3, OpenFor: 100 * time.Millisecond}
}

// setup returns a pool of one connection through a fresh proxy, with the
// table created and the connection already open and its INSERT statement
// prepared. The pool never pings a connection before handing it out, so a
// toxic added now hits the INSERT itself, however long the test waited.
func setup(t *testing.T) (*faultproxy.Proxy, *pgxpool.Pool) {
	t.Helper()
	db := pgtest.NewDatabase(t)
	pgtest.Exec(t, db.URL, `CREATE TABLE resilience_payments (request_id text PRIMARY KEY,
		invoice text NOT NULL UNIQUE, amount_cents bigint NOT NULL)`)
	proxy, proxyURL := faultproxy.ForURL(t, db.URL)
	cfg, err := pgxpool.ParseConfig(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, _, err := Pay(t.Context(), NewGuard(fastPolicy()), pool, "warm-up", "inv-0", 1); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	if _, err := pool.Exec(t.Context(), plainInsert, "warm-up-2", "inv-00", 1); err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	return proxy, pool
}

// plainInsert is a write that is not idempotent-checked; setup prepares it.
const plainInsert = `INSERT INTO resilience_payments (request_id, invoice, amount_cents)
	VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING`

func countPayments(t *testing.T, dsn, requestID string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM resilience_payments WHERE request_id = $1",
		requestID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLatencyEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	proxy, pool := setup(t)
	proxy.AddToxic(t, "slow", "latency", "downstream", `{"latency": 60000}`)
	// pgx closes an interrupted connection in the background with a 15 s
	// bound; cutting the proxy first lets the pool close at once.
	t.Cleanup(proxy.Cut)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, attempts, err := Pay(ctx, NewGuard(fastPolicy()), pool, "req-slow", "inv-slow", 100)
	if !errors.Is(err, context.DeadlineExceeded) || attempts != 1 {
		t.Fatalf("attempts=%d err=%v, want 1 attempt ending in context.DeadlineExceeded", attempts, err)
	}
}

// The server commits the INSERT, then the connection is reset before the
// answer arrives. The retry runs the idempotent INSERT again: one row.
func TestConnectionResetRetriedExactlyOnce(t *testing.T) {
	t.Parallel()
	proxy, pool := setup(t)
	proxy.AddToxic(t, "reset", "reset_peer", "downstream", `{"timeout": 0}`)
	p := fastPolicy()
	var retries atomic.Int32
	p.OnRetry = func(error, time.Duration) {
		if retries.Add(1) == 1 {
			if err := proxy.RemoveToxic(context.Background(), "reset"); err != nil {
				t.Error(err)
			}
		}
	}
	stored, attempts, err := Pay(t.Context(), NewGuard(p), pool, "req-reset", "inv-reset", 100)
	if err != nil {
		t.Fatalf("pay: %v", err)
	}
	if attempts != 2 || stored {
		t.Errorf("attempts=%d stored=%t, want 2 attempts and the second finding the row", attempts, stored)
	}
	if got := countPayments(t, pool.Config().ConnConfig.ConnString(), "req-reset"); got != 1 {
		t.Errorf("rows = %d, want exactly 1", got)
	}
}

// The same reset on a write that is not idempotent is not retried: the
// caller learns that the outcome is unknown instead of a duplicate.
func TestConnectionResetNotRetriedWhenNotIdempotent(t *testing.T) {
	t.Parallel()
	proxy, pool := setup(t)
	proxy.AddToxic(t, "reset", "reset_peer", "downstream", `{"timeout": 0}`)
	attempts, err := NewGuard(fastPolicy()).Do(t.Context(), false, func(ctx context.Context) error {
		_, err := pool.Exec(ctx, plainInsert, "req-once", "inv-once", 1)
		return err
	})
	if err == nil || pgconn.SafeToRetry(err) || attempts != 1 {
		t.Fatalf("attempts=%d err=%v, want 1 attempt and a connection broken mid-request", attempts, err)
	}
	// The server did commit: a blind retry would have written a second row.
	if err := proxy.RemoveToxic(t.Context(), "reset"); err != nil {
		t.Fatal(err)
	}
	if got := countPayments(t, pool.Config().ConnConfig.ConnString(), "req-once"); got != 1 {
		t.Errorf("rows = %d, want 1", got)
	}
}

// The breaker opens after TripAfter failed attempts and then fails fast.
// OpenFor is an hour, so no scheduling delay can turn it half-open while the
// test looks.
func TestBreakerOpensAndFailsFast(t *testing.T) {
	t.Parallel()
	proxy, pool := setup(t)
	p := fastPolicy()
	p.OpenFor = time.Hour
	g := NewGuard(p)
	proxy.Cut()

	// MaxTries = TripAfter = 3: one call's three failed attempts open it.
	_, attempts, err := Pay(t.Context(), g, pool, "req-down", "inv-down", 1)
	if err == nil || errors.Is(err, gobreaker.ErrOpenState) || attempts != 3 || g.State() != "open" {
		t.Fatalf("attempts=%d err=%v state=%s, want 3 failed attempts and an open breaker",
			attempts, err, g.State())
	}
	// Open: the call fails at once, one attempt, without touching the network
	// (the database is back, yet the breaker does not let the call through).
	proxy.Restore(t)
	_, attempts, err = Pay(t.Context(), g, pool, "req-down", "inv-down", 1)
	if !errors.Is(err, gobreaker.ErrOpenState) || attempts != 1 {
		t.Fatalf("attempts=%d err=%v, want 1 attempt failing with %v", attempts, err, gobreaker.ErrOpenState)
	}
	if got := countPayments(t, pool.Config().ConnConfig.ConnString(), "req-down"); got != 0 {
		t.Errorf("rows = %d, want 0", got)
	}
}

// Once OpenFor has passed, one half-open probe reaches the database; when it
// succeeds the breaker closes.
func TestBreakerHalfOpenProbeCloses(t *testing.T) {
	t.Parallel()
	proxy, pool := setup(t)
	g := NewGuard(fastPolicy())
	proxy.Cut()
	if _, _, err := Pay(t.Context(), g, pool, "req-down", "inv-down", 1); err == nil {
		t.Fatal("pay succeeded through a cut proxy")
	}
	// The state reads half-open only after OpenFor: this waits for it,
	// whatever the machine's load, instead of sleeping.
	deadline := time.Now().Add(10 * time.Second)
	for g.State() != "half-open" {
		if time.Now().After(deadline) {
			t.Fatalf("breaker still %s", g.State())
		}
		waitABit(t)
	}

	proxy.Restore(t)
	stored, attempts, err := Pay(t.Context(), g, pool, "req-down", "inv-down", 1)
	if err != nil || !stored || attempts != 1 || g.State() != "closed" {
		t.Fatalf("probe: stored=%t attempts=%d err=%v state=%s, want one stored attempt and a closed breaker",
			stored, attempts, err, g.State())
	}
	if got := countPayments(t, pool.Config().ConnConfig.ConnString(), "req-down"); got != 1 {
		t.Errorf("rows = %d, want 1", got)
	}
}

// waitABit blocks 20 ms while polling for a condition. It paces the
// polling loop only; no result depends on its length.
func waitABit(t *testing.T) {
	select {
	case <-time.After(20 * time.Millisecond):
	case <-t.Context().Done():
	}
}

func TestSerializationFailureRetried(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	pgtest.Exec(t, db.URL, "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)",
		"INSERT INTO accounts VALUES (1, 100)")
	pool, err := pgxpool.New(t.Context(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	first := true
	attempts, err := NewGuard(fastPolicy()).Do(t.Context(), false, func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
			var balance int
			if err := tx.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 1").Scan(&balance); err != nil {
				return err
			}
			if first { // a concurrent writer commits between our read and our write
				first = false
				if _, err := pool.Exec(ctx, "UPDATE accounts SET balance = balance + 1 WHERE id = 1"); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, "UPDATE accounts SET balance = $1 WHERE id = 1", balance+10)
			return err
		})
	})
	if err != nil {
		t.Fatalf("do: %v", err)
	}
	var balance int
	if err := pool.QueryRow(t.Context(), "SELECT balance FROM accounts WHERE id = 1").Scan(&balance); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || balance != 111 {
		t.Errorf("attempts=%d balance=%d, want 2 and 111 (no lost update)", attempts, balance)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name       string
		err        error
		idempotent bool
		want       bool
	}{
		{"serialization_failure", pg("40001"), false, true},
		{"deadlock", pg("40P01"), false, true},
		{"unique_violation_never", pg("23505"), true, false},
		{"breaker_open_never", gobreaker.ErrOpenState, true, false},
		{"deadline_never", context.DeadlineExceeded, true, false},
		{"server_starting_up", pg("57P03"), false, true},
		{"too_many_connections", pg("53300"), false, true},
		{"dial_failed", &pgconn.ConnectError{}, false, true},
		{"broken_mid_request_idempotent", fmt.Errorf("exec: %w", io.ErrUnexpectedEOF), true, true},
		{"broken_mid_request_not_idempotent", fmt.Errorf("exec: %w", io.ErrUnexpectedEOF), false, false},
		{"canceled_never", context.Canceled, true, false},
		{"unknown_error_never", errors.New("boom"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err, tt.idempotent); got != tt.want {
				t.Errorf("Retryable = %t, want %t", got, tt.want)
			}
		})
	}
}

// The breaker counts an answer from the server as the database being up,
// unless the answer says it is not.
func TestAnswered(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return fmt.Errorf("exec: %w", &pgconn.PgError{Code: code}) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unique_violation_is_an_answer", pg("23505"), true},
		{"serialization_failure_is_an_answer", pg("40001"), true},
		{"too_many_connections", pg("53300"), false},
		{"admin_shutdown", pg("57P01"), false},
		{"starting_up", pg("57P03"), false},
		{"connection_failure", pg("08006"), false},
		{"dial_refused", &pgconn.ConnectError{}, false},
		{"deadline", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := answered(tt.err); got != tt.want {
				t.Errorf("answered = %t, want %t", got, tt.want)
			}
		})
	}
}

func TestPayRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, requestID, invoice string
		cents                    int64
	}{
		{"empty_request_id", "", "inv", 1},
		{"empty_invoice", "req", "", 1},
		{"zero_amount", "req", "inv", 0},
		{"negative_amount", "req", "inv", -5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A nil pool: an attempt would panic, so none is made.
			_, attempts, err := Pay(t.Context(), NewGuard(fastPolicy()), nil, tt.requestID, tt.invoice, tt.cents)
			if err == nil || !strings.Contains(err.Error(), "pay: invalid payment") || attempts != 0 {
				t.Fatalf("attempts=%d err=%v, want a validation error before any attempt", attempts, err)
			}
		})
	}
}

// An attempt that runs out of its own AttemptTimeout (the server does not
// answer) is retried while the caller's deadline has time left.
func TestAttemptTimeoutRetriedWithinTheCallersDeadline(t *testing.T) {
	t.Parallel()
	proxy, pool := setup(t)
	proxy.AddToxic(t, "slow", "latency", "downstream", `{"latency": 60000}`)
	t.Cleanup(proxy.Cut)

	p := fastPolicy()
	p.AttemptTimeout, p.TripAfter = 100*time.Millisecond, 10
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, attempts, err := Pay(ctx, NewGuard(p), pool, "req-slow", "inv-slow", 100)
	if !errors.Is(err, context.DeadlineExceeded) || attempts != int(p.MaxTries) || ctx.Err() != nil {
		t.Fatalf("attempts=%d err=%v, want %d attempts, each ending at its own deadline", attempts, err, p.MaxTries)
	}
}

// A request id reused with another payload is an error, not a silent
// "already stored"; the stored payment is unchanged.
func TestPayRejectsReusedRequestID(t *testing.T) {
	t.Parallel()
	_, pool := setup(t)
	g := NewGuard(fastPolicy())
	if _, _, err := Pay(t.Context(), g, pool, "req-a", "inv-a", 100); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		invoice string
		cents   int64
	}{{"inv-a", 101}, {"inv-b", 100}} {
		stored, attempts, err := Pay(t.Context(), g, pool, "req-a", tt.invoice, tt.cents)
		if !errors.Is(err, ErrRequestReused) || stored || attempts != 1 {
			t.Errorf("%s/%d: stored=%t attempts=%d err=%v, want %v", tt.invoice, tt.cents, stored, attempts, err, ErrRequestReused)
		}
	}
	var invoice string
	var cents int64
	if err := pool.QueryRow(t.Context(), "SELECT invoice, amount_cents FROM resilience_payments WHERE request_id = 'req-a'").
		Scan(&invoice, &cents); err != nil || invoice != "inv-a" || cents != 100 {
		t.Errorf("stored payment = %s/%d (%v), want inv-a/100", invoice, cents, err)
	}
	if g.State() != "closed" {
		t.Errorf("breaker %s: a reused id is a client error, not the database failing", g.State())
	}
}

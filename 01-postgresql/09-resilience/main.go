// Command 09-resilience retries only what is safe to retry — serialization
// failures, deadlocks, connections that never reached the server, and
// idempotent writes — with backoff, jitter and a deadline, behind a circuit
// breaker that fails fast while the database is down.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// defaultPolicy: 4 attempts 50 ms → 100 → 200 ms apart (±50%); the breaker
// opens after 5 failed attempts in a row and probes again after 5 s; one
// attempt may take 2 s.
func defaultPolicy() Policy {
	return Policy{
		MaxTries: 4, InitialDelay: 50 * time.Millisecond, MaxDelay: time.Second,
		TripAfter: 5, OpenFor: 5 * time.Second, AttemptTimeout: 2 * time.Second,
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	p := defaultPolicy()
	p.OnRetry = func(err error, _ time.Duration) { fmt.Fprintf(stdout, "  retry after: %v\n", err) }
	guard := NewGuard(p)

	// The demo's own table; a rerun deletes only the demo's own requests.
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS resilience_payments (
		request_id   text   PRIMARY KEY,
		invoice      text   NOT NULL UNIQUE,
		amount_cents bigint NOT NULL
	);
	DELETE FROM resilience_payments WHERE request_id IN ('req-1', 'req-2', 'req-3')`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}

	steps := []struct {
		label, requestID, invoice string
		cents                     int64
		db                        DB
	}{
		{"pay inv-1", "req-1", "inv-1", 1500, pool},
		{"same request again", "req-1", "inv-1", 1500, pool},
		{"same request id, other amount", "req-1", "inv-1", 999, pool},
		{"new request, same invoice", "req-2", "inv-1", 1500, pool},
		// The server commits, then the connection resets before the answer.
		{"pay inv-3, reset after commit", "req-3", "inv-3", 700, &resetOnce{DB: pool}},
	}
	for _, s := range steps {
		stored, attempts, err := Pay(ctx, guard, s.db, s.requestID, s.invoice, s.cents)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr):
			fmt.Fprintf(stdout, "%s: not retried: SQLSTATE %s %s (attempts=%d)\n",
				s.label, pgErr.Code, pgErr.ConstraintName, attempts)
		case errors.Is(err, ErrRequestReused):
			fmt.Fprintf(stdout, "%s: rejected: %v (attempts=%d)\n", s.label, err, attempts)
		case err != nil:
			return fmt.Errorf("%s: %w", s.label, err)
		default:
			fmt.Fprintf(stdout, "%s: stored=%t (attempts=%d)\n", s.label, stored, attempts)
		}
	}
	fmt.Fprintf(stdout, "breaker: %s\n", guard.State())
	return databaseDown(ctx, cfg, stdout)
}

// ErrRequestReused is Pay's answer to a request id that was already used
// for a different payment: a client bug, not a retry.
var ErrRequestReused = errors.New("request id already used for another payment")

// DB is what Pay needs of a pool (the demo wraps one to inject a fault).
type DB interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Pay records a payment once per request id. ON CONFLICT DO NOTHING makes
// it idempotent, so the guard may retry it even when the connection broke
// after the INSERT reached the server: the second attempt finds the row.
// A row found under the id must be the same payment, or the id was reused.
func Pay(ctx context.Context, g *Guard, db DB, requestID, invoice string,
	cents int64) (stored bool, attempts int, err error) {
	if requestID == "" || invoice == "" || cents <= 0 {
		return false, 0, fmt.Errorf("pay: invalid payment %q/%q/%d", requestID, invoice, cents)
	}
	same := true
	attempts, err = g.Do(ctx, true, func(ctx context.Context) error {
		// The subquery reads the statement's snapshot: a row inserted by
		// this very statement is not in it (NULL: the same payment).
		return db.QueryRow(ctx, `WITH ins AS (
			INSERT INTO resilience_payments (request_id, invoice, amount_cents)
			VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING RETURNING 1)
		SELECT EXISTS (SELECT FROM ins), coalesce((SELECT invoice = $2 AND amount_cents = $3
			FROM resilience_payments WHERE request_id = $1), true)`,
			requestID, invoice, cents).Scan(&stored, &same)
	})
	if err == nil && !same {
		return false, attempts, fmt.Errorf("pay %s: %w", requestID, ErrRequestReused)
	}
	return stored, attempts, err
}

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
// opens after 5 failed attempts in a row and probes again after 5 s.
func defaultPolicy() Policy {
	return Policy{
		MaxTries: 4, InitialDelay: 50 * time.Millisecond, MaxDelay: time.Second,
		TripAfter: 5, OpenFor: 5 * time.Second,
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
	guard := NewGuard(defaultPolicy())

	// The demo's own table; a rerun deletes only the demo's own requests.
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS resilience_payments (
		request_id   text   PRIMARY KEY,
		invoice      text   NOT NULL UNIQUE,
		amount_cents bigint NOT NULL
	);
	DELETE FROM resilience_payments WHERE request_id IN ('req-1', 'req-2')`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}

	steps := []struct{ label, requestID, invoice string }{
		{"pay inv-1", "req-1", "inv-1"},
		{"same request again", "req-1", "inv-1"},
		{"new request, same invoice", "req-2", "inv-1"},
	}
	for _, s := range steps {
		stored, attempts, err := Pay(ctx, guard, pool, s.requestID, s.invoice, 1500)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr):
			fmt.Fprintf(stdout, "%s: not retried: SQLSTATE %s %s (attempts=%d)\n",
				s.label, pgErr.Code, pgErr.ConstraintName, attempts)
		case err != nil:
			return fmt.Errorf("%s: %w", s.label, err)
		default:
			fmt.Fprintf(stdout, "%s: stored=%t (attempts=%d)\n", s.label, stored, attempts)
		}
	}
	fmt.Fprintf(stdout, "breaker: %s\n", guard.State())
	return nil
}

// Pay records a payment once per request id. ON CONFLICT DO NOTHING makes
// it idempotent, so the guard may retry it even when the connection broke
// after the INSERT reached the server: the second attempt finds the row.
// Each attempt has its own deadline; the caller's ctx bounds them all.
func Pay(ctx context.Context, g *Guard, pool *pgxpool.Pool, requestID, invoice string,
	cents int64) (stored bool, attempts int, err error) {
	if requestID == "" || invoice == "" || cents <= 0 {
		return false, 0, fmt.Errorf("pay: invalid payment %q/%q/%d", requestID, invoice, cents)
	}
	attempts, err = g.Do(ctx, true, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		tag, err := pool.Exec(ctx, `INSERT INTO resilience_payments (request_id, invoice, amount_cents)
			VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING`, requestID, invoice, cents)
		stored = err == nil && tag.RowsAffected() == 1
		return err
	})
	return stored, attempts, err
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// resetOnce injects the fault the demo shows: its first query runs on the
// server, then fails as if the connection had been reset before the answer
// arrived. The tests make the same fault on a real connection (faultproxy).
type resetOnce struct {
	DB
	done bool
}

func (r *resetOnce) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	row := r.DB.QueryRow(ctx, sql, args...)
	if r.done {
		return row
	}
	r.done = true
	return resetRow{row}
}

type resetRow struct{ pgx.Row }

func (r resetRow) Scan(dest ...any) error {
	if err := r.Row.Scan(dest...); err != nil {
		return err
	}
	return fmt.Errorf("injected: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET})
}

// databaseDown calls a database that refuses connections (a closed port):
// every attempt fails, the breaker opens after TripAfter failures in a
// row, and the next call fails at once without touching the network.
func databaseDown(ctx context.Context, cfg *pgxpool.Config, stdout io.Writer) error {
	down := cfg.Copy()
	down.ConnConfig.Host, down.ConnConfig.Port, down.ConnConfig.Fallbacks = "127.0.0.1", 1, nil
	down.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(ctx, down)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	guard := NewGuard(defaultPolicy())
	for call := 1; call <= 3; call++ {
		_, attempts, err := Pay(ctx, guard, pool, "req-down", "inv-down", 1)
		if err == nil {
			return fmt.Errorf("database down: call %d succeeded", call)
		}
		fmt.Fprintf(stdout, "database down, call %d: attempts=%d breaker=%s\n", call, attempts, guard.State())
	}
	return nil
}

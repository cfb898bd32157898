// Command 08-replicas routes writes to the primary and reads to a streaming
// replica, keeps read-your-writes by waiting for the replica to replay the
// write's WAL position, and falls back to the primary when the replica is
// down or lags too far (the lag is sampled in the background).
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	maxLagMiB, err := strconv.ParseInt(cmp.Or(getenv("REPLICA_MAX_LAG_MIB"), "16"), 10, 64)
	if err != nil || maxLagMiB < 0 {
		return fmt.Errorf("REPLICA_MAX_LAG_MIB: want a whole number of MiB >= 0, got %q", getenv("REPLICA_MAX_LAG_MIB"))
	}
	wait, err := time.ParseDuration(cmp.Or(getenv("REPLICA_WAIT"), "2s"))
	if err != nil || wait <= 0 {
		return fmt.Errorf("REPLICA_WAIT: want a positive duration such as 2s, got %q", getenv("REPLICA_WAIT"))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second+wait)
	defer cancel()
	primary, err := openPool(ctx, "DATABASE_URL", cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return err
	}
	defer primary.Close()
	// A pool does not dial: a replica that is down shows up at the first read.
	replica, err := openPool(ctx, "DATABASE_REPLICA_URL", cmp.Or(getenv("DATABASE_REPLICA_URL"), "postgres://app:app@localhost:5433/app"))
	if err != nil {
		return err
	}
	defer replica.Close()
	// The lag is sampled in the background, 4 times a second: a read costs
	// no round trip to the primary, and a sample older than a second (the
	// primary or the replica does not answer) sends reads to the primary.
	r := NewRouter(primary, replica, Options{MaxLagBytes: maxLagMiB << 20, WaitFor: wait,
		Probe: time.Second, Every: 250 * time.Millisecond, Stale: time.Second})
	defer r.Close()

	if _, err := primary.Exec(ctx, `CREATE TABLE IF NOT EXISTS replica_orders (
		id bigint PRIMARY KEY, status text NOT NULL)`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}

	lsn, err := r.Write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO replica_orders VALUES (1, 'paid')
			ON CONFLICT (id) DO UPDATE SET status = excluded.status`)
		return err
	})
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	fmt.Fprintln(stdout, "write: order 1 paid, on the primary")

	// Read-your-writes: the replica answers only once it has replayed lsn.
	var status string
	src, err := r.Read(ctx, lsn, func(db *pgxpool.Pool) error {
		return db.QueryRow(ctx, "SELECT status FROM replica_orders WHERE id = 1").Scan(&status)
	})
	if err != nil {
		return fmt.Errorf("read after write: %w", err)
	}
	fmt.Fprintf(stdout, "read after write: order 1 %s, from the %s\n", status, src)

	if _, _, err := r.Lag(); err != nil {
		fmt.Fprintf(stdout, "replica lag: unknown (%v)\n", err)
	} else {
		fmt.Fprintf(stdout, "replica lag: sampled in the background, bound %d MiB\n", maxLagMiB)
	}
	return nil
}

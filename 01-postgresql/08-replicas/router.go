package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LSN is a position in the primary's write-ahead log, as text ("0/3000148").
type LSN string

// Source says which server answered a read.
type Source string

const (
	FromPrimary Source = "primary"
	FromReplica Source = "replica"
)

// Router sends writes to the primary and reads to the replica while the
// replica is up and fresh enough, else to the primary.
type Router struct {
	Primary, Replica *pgxpool.Pool
	MaxLagBytes      int64         // a replica further behind is skipped
	WaitFor          time.Duration // how long a read waits for its own write
	Probe            time.Duration // deadline of each replica check
}

// Write runs fn in a transaction on the primary and returns the WAL position
// after the commit: a read given that LSN sees the write.
func (r *Router) Write(ctx context.Context, fn func(pgx.Tx) error) (LSN, error) {
	if err := pgx.BeginFunc(ctx, r.Primary, fn); err != nil {
		return "", err
	}
	var lsn LSN
	if err := r.Primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		return "", fmt.Errorf("read wal position: %w", err)
	}
	return lsn, nil
}

// Read runs fn on the replica when it is reachable, at most MaxLag behind
// and, if after is set, has replayed past after (waiting up to WaitFor);
// otherwise on the primary. fn must be a read: it may run on either server.
func (r *Router) Read(ctx context.Context, after LSN, fn func(*pgxpool.Pool) error) (Source, error) {
	if r.replicaReady(ctx, after) {
		err := fn(r.Replica)
		if err == nil || ctx.Err() != nil {
			return FromReplica, err
		}
		// The replica failed mid-read: the primary has the same data.
	}
	return FromPrimary, fn(r.Primary)
}

// Lag is how many bytes of WAL the replica has still to replay: the
// primary's WAL position minus the replica's replay position. Bytes, not
// seconds: the usual now() - pg_last_xact_replay_timestamp() grows on an
// idle primary although nothing is missing.
func (r *Router) Lag(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Probe)
	defer cancel()
	var head string
	if err := r.Primary.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&head); err != nil {
		return 0, fmt.Errorf("primary wal position: %w", err)
	}
	// NULL when the "replica" is not in recovery: a DSN pointing at a
	// primary would otherwise read as zero lag.
	var lag *int64
	err := r.Replica.QueryRow(ctx, `SELECT CASE WHEN pg_is_in_recovery() THEN
		greatest(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint END`,
		head).Scan(&lag)
	if err != nil {
		return 0, fmt.Errorf("replica lag: %w", err)
	}
	if lag == nil {
		return 0, errors.New("replica is not a standby: pg_is_in_recovery() is false")
	}
	return *lag, nil
}

func (r *Router) replicaReady(ctx context.Context, after LSN) bool {
	if lag, err := r.Lag(ctx); err != nil || lag > r.MaxLagBytes {
		return false
	}
	if after == "" {
		return true
	}
	// Poll the replay position until it passes the write, within WaitFor.
	ctx, cancel := context.WithTimeout(ctx, r.WaitFor)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var replayed bool
		err := r.Replica.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn",
			string(after)).Scan(&replayed)
		if err != nil {
			return false
		}
		if replayed {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

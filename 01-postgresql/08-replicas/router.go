package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// Options tune a Router.
type Options struct {
	MaxLagBytes int64         // a replica further behind is skipped
	WaitFor     time.Duration // how long a read waits for its own write
	Probe       time.Duration // deadline of each check
	Every       time.Duration // how often the lag is sampled
	Stale       time.Duration // a sample older than this is not trusted
}

// Router sends writes to the primary and reads to the replica while the
// replica is up and fresh enough, else to the primary. The lag is sampled
// in the background, so a read costs no round trip to the primary.
type Router struct {
	primary, replica *pgxpool.Pool
	opt              Options

	mu   sync.Mutex
	last lagSample

	stop context.CancelFunc
	done chan struct{}
}

type lagSample struct {
	bytes int64
	err   error
	at    time.Time
}

// NewRouter takes a first lag sample, then samples every opt.Every in a
// goroutine that Close stops.
func NewRouter(primary, replica *pgxpool.Pool, opt Options) *Router {
	r := &Router{primary: primary, replica: replica, opt: opt, done: make(chan struct{})}
	var ctx context.Context
	ctx, r.stop = context.WithCancel(context.Background())
	r.sample(ctx)
	go r.sampleLoop(ctx)
	return r
}

// Close stops the sampler and waits for it.
func (r *Router) Close() {
	r.stop()
	<-r.done
}

func (r *Router) sampleLoop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(r.opt.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.sample(ctx)
		}
	}
}

func (r *Router) sample(ctx context.Context) {
	lag, err := r.lag(ctx)
	r.mu.Lock()
	r.last = lagSample{bytes: lag, err: err, at: time.Now()}
	r.mu.Unlock()
}

// Lag returns the last sample: the replica's lag in bytes, or why it is
// unknown, and the sample's age.
func (r *Router) Lag() (int64, time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last.bytes, time.Since(r.last.at), r.last.err
}

// Write runs fn in a transaction on the primary and returns the WAL position
// after the commit: a read given that LSN sees the write.
func (r *Router) Write(ctx context.Context, fn func(pgx.Tx) error) (LSN, error) {
	if err := pgx.BeginFunc(ctx, r.primary, fn); err != nil {
		return "", err
	}
	var lsn LSN
	if err := r.primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&lsn); err != nil {
		return "", fmt.Errorf("read wal position: %w", err)
	}
	return lsn, nil
}

// Read runs fn on the replica when the last lag sample is fresh and within
// MaxLagBytes and, if after is set, the replica has replayed past after
// (waiting up to WaitFor); otherwise on the primary. fn must be a read: it
// may run on either server.
func (r *Router) Read(ctx context.Context, after LSN, fn func(*pgxpool.Pool) error) (Source, error) {
	if r.replicaFresh() && r.replayed(ctx, after) {
		err := fn(r.replica)
		if err == nil || ctx.Err() != nil {
			return FromReplica, err
		}
		// The replica failed mid-read: the primary has the same data.
	}
	return FromPrimary, fn(r.primary)
}

// replicaFresh routes on the last sample: none, a failed one, a stale one
// (the sampler is stuck) or one beyond the bound all mean the primary.
func (r *Router) replicaFresh() bool {
	lag, age, err := r.Lag()
	return err == nil && age <= r.opt.Stale && lag <= r.opt.MaxLagBytes
}

// lag is how many bytes of WAL the replica has still to replay: the
// primary's WAL position minus the replica's replay position. Bytes, not
// seconds: the usual now() - pg_last_xact_replay_timestamp() grows on an
// idle primary although nothing is missing.
func (r *Router) lag(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opt.Probe)
	defer cancel()
	var head string
	if err := r.primary.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&head); err != nil {
		return 0, fmt.Errorf("primary wal position: %w", err)
	}
	// NULL when the "replica" is not in recovery: a DSN pointing at a
	// primary would otherwise read as zero lag.
	var lag *int64
	err := r.replica.QueryRow(ctx, `SELECT CASE WHEN pg_is_in_recovery() THEN
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

// replayed polls the replica's replay position until it passes after,
// within WaitFor. An empty after needs no wait.
func (r *Router) replayed(ctx context.Context, after LSN) bool {
	if after == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, r.opt.WaitFor)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var replayed bool
		err := r.replica.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn",
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

// Command 04-pooling sizes a pgxpool, exports its statistics as Prometheus
// metrics, shows that an exhausted pool fails an acquire at its deadline
// instead of hanging, and shows what PgBouncer's transaction pooling
// changes: which pgx query modes work and which session state leaks.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := poolDemo(ctx, getenv, stdout); err != nil {
		return err
	}
	return bouncerDemo(ctx, getenv, stdout)
}

// newPoolConfig sizes the pool for one service instance. The sum of
// MaxConns over every instance must stay under the server's
// max_connections minus what admins and replicas need.
func newPoolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, parseError("DATABASE_URL", err)
	}
	cfg.MaxConns = 4 // a few per CPU core of the database, not per request
	cfg.MinConns = 1 // one warm connection for the first request after idle
	// Recycle connections so a failover or a DNS change is picked up and
	// server-side memory is returned; the jitter keeps the pool from
	// reconnecting all at once.
	cfg.MaxConnLifetime = 30 * time.Minute
	cfg.MaxConnLifetimeJitter = 5 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute
	// The health check closes idle and expired connections and tops the
	// pool up to MinConns between requests.
	cfg.HealthCheckPeriod = 30 * time.Second
	cfg.ConnConfig.RuntimeParams["application_name"] = "04-pooling"
	return cfg, nil
}

func poolDemo(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := newPoolConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create pool: %w", err)
	}
	defer pool.Close()
	reg := prometheus.NewRegistry()
	if err := reg.Register(newPoolCollector(pool, "primary")); err != nil {
		return fmt.Errorf("register pool collector: %w", err)
	}

	// MaxConns slow requests at once hold every connection...
	held := make([]*pgxpool.Conn, 0, cfg.MaxConns)
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for range cfg.MaxConns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquire: %w", err)
		}
		held = append(held, c)
	}
	fmt.Fprintf(stdout, "holding %d of %d connections\n", len(held), cfg.MaxConns)

	// ...so the next acquire waits, and only its context ends the wait. A
	// request deadline turns an exhausted pool into a fast error.
	const wait = 200 * time.Millisecond
	actx, acancel := context.WithTimeout(ctx, wait)
	c, err := pool.Acquire(actx)
	acancel()
	if err == nil {
		c.Release()
		return errors.New("acquire from an exhausted pool succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("acquire from an exhausted pool: %w", err)
	}
	fmt.Fprintf(stdout, "next acquire      : gave up after %v: %v\n", wait, context.DeadlineExceeded)
	for _, c := range held {
		c.Release()
	}
	held = held[:0]
	return printMetrics(reg, stdout, "", "pgxpool_max_conns", "pgxpool_total_conns",
		"pgxpool_acquired_conns", "pgxpool_acquires_total", "pgxpool_canceled_acquires_total")
}

// printMetrics prints the named metrics as a Prometheus scrape shows them,
// only the series whose labels contain only (if set); a service exposes the
// same registry with promhttp.HandlerFor.
func printMetrics(reg *prometheus.Registry, stdout io.Writer, only string, names ...string) error {
	families, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	lines := make(map[string][]string)
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			value := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			series := mf.GetName()
			if len(labels) > 0 {
				series += "{" + strings.Join(labels, ",") + "}"
			}
			if only == "" || len(labels) == 0 || strings.Contains(series, only) {
				lines[mf.GetName()] = append(lines[mf.GetName()], fmt.Sprintf("%s %g", series, value))
			}
		}
	}
	for _, name := range names {
		for _, line := range lines[name] {
			fmt.Fprintln(stdout, line)
		}
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// bouncerCollector exports PgBouncer's own view of its pools, read from the
// admin console (the virtual database "pgbouncer", as a stats_users role)
// at scrape time: SHOW POOLS for clients waiting and server connections in
// use, SHOW STATS for transactions and time spent waiting. Columns are
// read by name: PgBouncer versions add columns.
type bouncerCollector struct {
	cfg     *pgx.ConnConfig
	timeout time.Duration

	up                                          *prometheus.Desc
	clActive, clWaiting, svActive, svIdle, wait *prometheus.Desc
	xacts, queries, waitTotal, avgWait          *prometheus.Desc
}

func newBouncerCollector(cfg *pgx.ConnConfig) *bouncerCollector {
	c := cfg.Copy()
	c.Database = "pgbouncer"
	// The admin console speaks only the simple query protocol.
	c.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	pool := []string{"database", "user"}
	db := []string{"database"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("pgbouncer_"+name, help, labels, nil)
	}
	return &bouncerCollector{cfg: c, timeout: 5 * time.Second,
		up:        d("up", "Whether the admin console answered the last scrape.", nil),
		clActive:  d("pools_client_active", "Clients linked to a server connection or idle.", pool),
		clWaiting: d("pools_client_waiting", "Clients waiting for a server connection.", pool),
		svActive:  d("pools_server_active", "Server connections linked to a client.", pool),
		svIdle:    d("pools_server_idle", "Server connections unused and ready.", pool),
		wait:      d("pools_max_wait_seconds", "Wait of the oldest client in the queue.", pool),
		xacts:     d("stats_transactions_total", "Transactions pooled.", db),
		queries:   d("stats_queries_total", "Queries pooled.", db),
		waitTotal: d("stats_client_wait_seconds_total", "Time clients spent waiting for a server.", db),
		avgWait:   d("stats_avg_wait_seconds", "Average client wait over the last stats_period.", db),
	}
}

// Describe implements prometheus.Collector.
func (c *bouncerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.clActive, c.clWaiting, c.svActive, c.svIdle, c.wait,
		c.xacts, c.queries, c.waitTotal, c.avgWait} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A console that does not answer
// is pgbouncer_up 0, not a failed scrape of everything else.
func (c *bouncerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	up := 0.0
	if err := c.collect(ctx, ch); err == nil {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}

func (c *bouncerCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	conn, err := pgx.ConnectConfig(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	err = show(ctx, conn, "POOLS", func(r map[string]string) {
		l := []string{r["database"], r["user"]}
		gauge(c.clActive, num(r["cl_active"]), l...)
		gauge(c.clWaiting, num(r["cl_waiting"]), l...)
		gauge(c.svActive, num(r["sv_active"]), l...)
		gauge(c.svIdle, num(r["sv_idle"]), l...)
		gauge(c.wait, num(r["maxwait"])+num(r["maxwait_us"])/1e6, l...)
	})
	if err != nil {
		return err
	}
	return show(ctx, conn, "STATS", func(r map[string]string) {
		db := r["database"]
		counter(c.xacts, num(r["total_xact_count"]), db)
		counter(c.queries, num(r["total_query_count"]), db)
		counter(c.waitTotal, num(r["total_wait_time"])/1e6, db) // µs
		gauge(c.avgWait, num(r["avg_wait_time"])/1e6, db)
	})
}

// show runs SHOW what and hands each row to fn as column name → text.
func show(ctx context.Context, conn *pgx.Conn, what string, fn func(map[string]string)) error {
	rows, err := conn.Query(ctx, "SHOW "+what)
	if err != nil {
		return fmt.Errorf("show %s: %w", what, err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	for rows.Next() {
		row := make(map[string]string, len(fields))
		for i, v := range rows.RawValues() {
			row[fields[i].Name] = string(v)
		}
		fn(row)
	}
	return rows.Err()
}

// num parses a counter of the console; an absent column counts as 0.
func num(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v
}

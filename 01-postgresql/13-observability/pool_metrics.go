package main

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports pgxpool.Stat at scrape time: the gauges a pool
// dashboard needs, and counters whose rate shows waiting for a connection.
type poolCollector struct {
	pool                                                     *pgxpool.Pool
	acquired, idle, total, max                               *prometheus.Desc
	acquires, emptyAcquires, canceledAcquires, acquireSecond *prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &poolCollector{
		pool:             pool,
		acquired:         d("pgxpool_acquired_conns", "Connections currently in use."),
		idle:             d("pgxpool_idle_conns", "Connections idle in the pool."),
		total:            d("pgxpool_total_conns", "Connections open, in use or idle."),
		max:              d("pgxpool_max_conns", "Maximum size of the pool."),
		acquires:         d("pgxpool_acquires_total", "Connections acquired from the pool."),
		emptyAcquires:    d("pgxpool_empty_acquires_total", "Acquires that waited: no idle connection was ready."),
		canceledAcquires: d("pgxpool_canceled_acquires_total", "Acquires given up because the context ended."),
		acquireSecond:    d("pgxpool_acquire_duration_seconds_total", "Time spent acquiring connections."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max,
		c.acquires, c.emptyAcquires, c.canceledAcquires, c.acquireSecond} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(c.acquired, float64(s.AcquiredConns()))
	gauge(c.idle, float64(s.IdleConns()))
	gauge(c.total, float64(s.TotalConns()))
	gauge(c.max, float64(s.MaxConns()))
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	counter(c.canceledAcquires, float64(s.CanceledAcquireCount()))
	counter(c.acquireSecond, s.AcquireDuration().Seconds())
}

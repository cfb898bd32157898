package main

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports pgxpool.Stat as Prometheus metrics. A collector
// reads Stat at scrape time, so the numbers are never stale and no
// goroutine copies them into gauges on a timer.
type poolCollector struct {
	pool  *pgxpool.Pool
	descs []statDesc
}

// statDesc pairs a metric with the Stat field it reports.
type statDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(*pgxpool.Stat) float64
}

// newPoolCollector names every metric pgxpool_*; name labels the pool, so
// a service with a primary and a replica pool exports both.
func newPoolCollector(pool *pgxpool.Pool, name string) *poolCollector {
	labels := prometheus.Labels{"pool": name}
	d := func(metric, help string, kind prometheus.ValueType, value func(*pgxpool.Stat) float64) statDesc {
		return statDesc{prometheus.NewDesc("pgxpool_"+metric, help, nil, labels), kind, value}
	}
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	return &poolCollector{pool: pool, descs: []statDesc{
		d("max_conns", "Maximum size of the pool.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) }),
		d("total_conns", "Connections in the pool: idle, acquired and being built.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) }),
		d("acquired_conns", "Connections handed out to callers.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) }),
		d("idle_conns", "Connections waiting in the pool.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) }),
		d("constructing_conns", "Connections being opened.", gauge,
			func(s *pgxpool.Stat) float64 { return float64(s.ConstructingConns()) }),
		d("acquires_total", "Successful acquires.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.AcquireCount()) }),
		d("empty_acquires_total", "Successful acquires that had to wait for a connection.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.EmptyAcquireCount()) }),
		d("canceled_acquires_total", "Acquires given up by their context: the pool was exhausted.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.CanceledAcquireCount()) }),
		d("acquire_wait_seconds_total", "Time spent waiting in acquires that found the pool empty.", counter,
			func(s *pgxpool.Stat) float64 { return s.EmptyAcquireWaitTime().Seconds() }),
		d("new_conns_total", "Connections opened.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.NewConnsCount()) }),
		d("max_lifetime_destroys_total", "Connections closed by MaxConnLifetime.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.MaxLifetimeDestroyCount()) }),
		d("max_idle_destroys_total", "Connections closed by MaxConnIdleTime.", counter,
			func(s *pgxpool.Stat) float64 { return float64(s.MaxIdleDestroyCount()) }),
	}}
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d.desc
	}
}

// Collect implements prometheus.Collector: one Stat snapshot per scrape,
// so the metrics of one scrape agree with each other.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	for _, d := range c.descs {
		ch <- prometheus.MustNewConstMetric(d.desc, d.kind, d.value(s))
	}
}

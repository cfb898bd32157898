package main

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// metrics holds the RED metrics of an HTTP server: Rate and Errors are the
// histogram's _count by status code, Duration its buckets. Names and labels
// follow OpenTelemetry's http.server.request.duration (seconds), so the same
// dashboards work with the OTel exporter.
type metrics struct {
	duration *prometheus.HistogramVec
	active   prometheus.Gauge
	byTenant *prometheus.CounterVec
	tenants  *labelGuard
}

func newMetrics(reg prometheus.Registerer, maxTenants int) (*metrics, error) {
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_server_request_duration_seconds",
			Help: "Duration of HTTP server requests.",
			// Classic buckets (OTel's defaults for HTTP) for every scraper,
			// plus a native histogram for Prometheus servers that ask for it.
			Buckets:                         []float64{.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"http_request_method", "http_route", "http_response_status_code"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_active_requests",
			Help: "Requests being served.",
		}),
		byTenant: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "app_requests_by_tenant_total",
			Help: "Requests per tenant; tenants past the cap count as other.",
		}, []string{"tenant"}),
		tenants: newLabelGuard(maxTenants),
	}
	err := errors.Join(reg.Register(m.duration), reg.Register(m.active), reg.Register(m.byTenant))
	return m, err
}

// middleware observes every request. It wraps the mux that routes, so
// r.Pattern is set once next returns.
func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.active.Inc()
		defer m.active.Dec()
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		obs := m.duration.WithLabelValues(method(r.Method), route(r.Pattern), strconv.Itoa(rec.status))
		secs := time.Since(start).Seconds()
		// An exemplar links this observation to its trace; it is exposed
		// only in the OpenMetrics format.
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsSampled() {
			obs.(prometheus.ExemplarObserver).ObserveWithExemplar(secs,
				prometheus.Labels{"trace_id": sc.TraceID().String()})
		} else {
			obs.Observe(secs)
		}
		m.byTenant.WithLabelValues(m.tenants.value(r.Header.Get("X-Tenant"))).Inc()
	})
}

// route is the route label: "GET /orders/{id}" → "/orders/{id}", a
// template, never the raw path, or every id becomes a time series. A
// pattern without a method ("/health") is kept whole.
func route(pattern string) string {
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// method keeps the method label bounded: a client can send any verb.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// labelGuard caps the distinct values of a label: the first max values pass,
// later ones become "other". A label fed from a request (tenant, client)
// otherwise grows the series count without bound.
type labelGuard struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

func newLabelGuard(maxValues int) *labelGuard {
	return &labelGuard{max: maxValues, seen: map[string]bool{}}
}

func (g *labelGuard) value(v string) string {
	if v == "" {
		return "none"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen[v] {
		return v
	}
	if len(g.seen) >= g.max {
		return "other"
	}
	g.seen[v] = true
	return v
}

// queueCollector is a custom Collector: it reads the queue's length at
// scrape time instead of keeping a gauge in step with every change.
type queueCollector struct {
	depth func() int
	desc  *prometheus.Desc
}

func newQueueCollector(depth func() int) *queueCollector {
	return &queueCollector{depth: depth, desc: prometheus.NewDesc(
		"app_queue_depth", "Jobs waiting in the queue.", nil, nil)}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	m, err := prometheus.NewConstMetric(c.desc, prometheus.GaugeValue, float64(c.depth()))
	if err != nil {
		m = prometheus.NewInvalidMetric(c.desc, err)
	}
	ch <- m
}

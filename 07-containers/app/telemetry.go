package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// telemetry is one Prometheus registry (not the global default) and one
// OTLP tracer provider, as 01-postgresql/11-observability sets them up.
type telemetry struct {
	reg      *prometheus.Registry
	tp       *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator // W3C traceparent/tracestate
	requests *prometheus.CounterVec
	cache    *prometheus.CounterVec
	redisUp  prometheus.Gauge
}

func newTelemetry(ctx context.Context, cfg *config) (*telemetry, error) {
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(
		strings.TrimSuffix(cfg.OTLPEndpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", cfg.ServiceName),
			attribute.String("service.version", version))))
	t := &telemetry{
		reg:    prometheus.NewRegistry(),
		tp:     tp,
		tracer: tp.Tracer("app"),
		prop:   propagation.TraceContext{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cache_requests_total", Help: "Item reads by cache result.",
		}, []string{"result"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "redis_up", Help: "1 if the last readiness check reached Redis, else 0.",
		}),
	}
	// The Go collector reports GOMAXPROCS and GOMEMLIMIT as the runtime set
	// them from the container's limits: worth a look after every rollout.
	t.reg.MustRegister(t.requests, t.cache, t.redisUp,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.MetricsGC, collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return t, nil
}

// shutdown flushes buffered spans under its own deadline. An unreachable
// collector must not fail the exit, but the lost spans are worth a line on
// stderr: they are the ones of the last requests. ForceFlush first:
// Shutdown hands export errors to the global otel error handler instead
// of returning them.
func (t *telemetry) shutdown(stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := errors.Join(t.tp.ForceFlush(ctx), t.tp.Shutdown(ctx)); err != nil {
		fmt.Fprintf(stderr, "telemetry: flush traces: %v\n", err)
	}
}

// instrument wraps a route: a server span and a request counter labelled
// by the route pattern, never by the raw path (unbounded cardinality).
// The span continues the caller's trace from its traceparent header, and
// a 5xx marks it as an error (a 4xx is the client's, not the server's).
func (t *telemetry) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, route, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h(rec, r.WithContext(ctx))
		span.SetAttributes(attribute.String("http.route", route),
			attribute.Int("http.response.status_code", rec.code))
		if rec.code >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(rec.code))
		}
		t.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// telemetry is the service's tracer and meter providers; metrics are
// served from reg by the OTel Prometheus exporter.
type telemetry struct {
	tp  *sdktrace.TracerProvider
	mp  *sdkmetric.MeterProvider
	reg *prometheus.Registry
}

func newTelemetry(ctx context.Context, getenv func(string) string) (*telemetry, error) {
	endpoint := cmp.Or(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318")
	if u, err := url.Parse(endpoint); err != nil || u.Host == "" {
		return nil, errors.New("OTEL_EXPORTER_OTLP_ENDPOINT: not a URL with a host")
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(endpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(cmp.Or(getenv("OTEL_SERVICE_NAME"), "orders")))
	reg := prometheus.NewRegistry()
	// The OTel SDK aggregates; the exporter is a prometheus.Collector on our
	// registry. Exemplars come from the SDK's default trace-based filter:
	// a measurement made in a sampled span's context keeps its trace id.
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	// Spans ended and spans Jaeger accepted: when Jaeger is down or slow
	// the batcher drops, and rate(ended) - rate(exported) shows it.
	ended := prometheus.NewCounter(prometheus.CounterOpts{Name: "trace_spans_ended_total",
		Help: "Sampled spans ended in this process."})
	exported := prometheus.NewCounter(prometheus.CounterOpts{Name: "trace_spans_exported_total",
		Help: "Spans the trace exporter delivered."})
	if err := errors.Join(reg.Register(ended), reg.Register(exported)); err != nil {
		return nil, fmt.Errorf("register span counters: %w", err)
	}
	return &telemetry{
		tp: sdktrace.NewTracerProvider(sdktrace.WithResource(res),
			sdktrace.WithSpanProcessor(endCounter{ended}),
			sdktrace.WithBatcher(countingExporter{exp, exported})),
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(promExp), sdkmetric.WithResource(res),
			sdkmetric.WithView(hostlessServerMetrics())),
		reg: reg,
	}, nil
}

// hostlessServerMetrics drops server.address and server.port from the
// http.server.* metrics: otelhttp takes them from the client's Host header,
// so any client can mint new time series. Spans keep them.
func hostlessServerMetrics() sdkmetric.View {
	return sdkmetric.NewView(sdkmetric.Instrument{Name: "http.server.*"},
		sdkmetric.Stream{AttributeFilter: attribute.NewDenyKeysFilter(
			semconv.ServerAddressKey, semconv.ServerPortKey)})
}

// endCounter counts sampled spans as they end.
type endCounter struct{ c prometheus.Counter }

func (endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (e endCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		e.c.Inc()
	}
}
func (endCounter) Shutdown(context.Context) error   { return nil }
func (endCounter) ForceFlush(context.Context) error { return nil }

// countingExporter counts the spans its exporter delivered.
type countingExporter struct {
	sdktrace.SpanExporter
	c prometheus.Counter
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		return err
	}
	e.c.Add(float64(len(spans)))
	return nil
}

func (t *telemetry) shutdown(ctx context.Context) error {
	return errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}

// traceHandler adds trace_id and span_id from the context to each record
// (the slog handler of 01-slog).
type traceHandler struct{ next slog.Handler }

func (h traceHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.next.WithAttrs(as)}
}
func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.next.WithGroup(name)}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// lockedBuffer is written by the handler goroutines and read by run. It
// keeps the demo's log lines for the demo's own check; stop ends that, so
// a server left running does not keep every log line in memory.
type lockedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	stopped bool
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// stop drops what was kept and keeps nothing more.
func (b *lockedBuffer) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	b.buf = bytes.Buffer{}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

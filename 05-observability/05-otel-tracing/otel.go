package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// tracing is a TracerProvider with the counts a service reports on exit:
// spans ended, spans the exporter delivered, and the last export error.
type tracing struct {
	*sdktrace.TracerProvider
	ended, exported atomic.Int64
	lastErr         atomic.Value // error text, never a span's content
	describe        string
}

// newTracing builds the SDK from the standard OTEL_* variables. The Go SDK
// reads some of them itself (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_BSP_*) but
// not OTEL_EXPORTER_OTLP_PROTOCOL or OTEL_TRACES_SAMPLER_ARG: read here,
// through getenv, so configuration has one source.
func newTracing(ctx context.Context, getenv func(string) string) (*tracing, error) {
	endpoint := cmp.Or(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318")
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		// url.Parse's error quotes the URL, which may carry credentials.
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: not a URL with a host")
	}
	protocol := cmp.Or(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	ratio, err := strconv.ParseFloat(cmp.Or(getenv("OTEL_TRACES_SAMPLER_ARG"), "1"), 64)
	if err != nil || ratio < 0 || ratio > 1 {
		return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: want a ratio from 0 to 1")
	}
	queue, err := strconv.Atoi(cmp.Or(getenv("OTEL_BSP_MAX_QUEUE_SIZE"), "2048"))
	if err != nil || queue < 1 {
		return nil, fmt.Errorf("OTEL_BSP_MAX_QUEUE_SIZE: want a positive integer")
	}

	// Retries end well before the shutdown deadline, so exit is bounded.
	var exp sdktrace.SpanExporter
	switch protocol {
	case "http/protobuf":
		// WithEndpoint takes host:port only; a URL needs WithEndpointURL.
		exp, err = otlptracehttp.New(ctx,
			otlptracehttp.WithEndpointURL(strings.TrimSuffix(u.String(), "/")+"/v1/traces"),
			otlptracehttp.WithTimeout(5*time.Second),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true,
				InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: 3 * time.Second}))
	case "grpc":
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(u.String()),
			otlptracegrpc.WithTimeout(5*time.Second),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true,
				InitialInterval: 200 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: 3 * time.Second}))
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}

	// resource.New with the semconv schema URL of the attributes we set:
	// resource.Merge of two resources with different schema URLs fails.
	res, err := resource.New(ctx, resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(), resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES
		resource.WithAttributes(
			semconv.ServiceName(cmp.Or(getenv("OTEL_SERVICE_NAME"), "checkout")),
			semconv.ServiceVersion("1.0.0")))
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	t := &tracing{describe: fmt.Sprintf("otlp %s to %s, sampler parentbased_traceidratio %g, queue %d",
		protocol, u.Redacted(), ratio, queue)}
	t.TracerProvider = sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		// ParentBased: follow the caller's sampling decision; sample new
		// traces at the ratio.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
		sdktrace.WithSpanProcessor(endCounter{&t.ended}),
		// The batcher's queue is bounded: when the exporter is down or slow,
		// spans past it are dropped, never buffered without limit.
		sdktrace.WithBatcher(countingExporter{exp, t}, sdktrace.WithMaxQueueSize(queue),
			sdktrace.WithMaxExportBatchSize(min(512, queue)), sdktrace.WithBatchTimeout(time.Second)),
	)
	return t, nil
}

// shutdown flushes within the deadline and reports how many spans were
// lost instead of failing the program: telemetry must not take it down.
func (t *tracing) shutdown(ctx context.Context) string {
	err := t.Shutdown(ctx)
	ended, exported := t.ended.Load(), t.exported.Load()
	line := fmt.Sprintf("traces: %d of %d spans exported, %d lost", exported, ended, ended-exported)
	last, _ := t.lastErr.Load().(string)
	if err != nil {
		last = err.Error()
	}
	if last != "" {
		line += " (" + last + ")"
	}
	return line
}

// endCounter counts sampled spans as they end.
type endCounter struct{ n *atomic.Int64 }

func (endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c endCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		c.n.Add(1)
	}
}
func (endCounter) Shutdown(context.Context) error   { return nil }
func (endCounter) ForceFlush(context.Context) error { return nil }

// countingExporter counts the spans its exporter accepted.
type countingExporter struct {
	sdktrace.SpanExporter
	t *tracing
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.t.lastErr.Store(err.Error())
		return exportError{err}
	}
	e.t.lastErr.Store("")
	e.t.exported.Add(int64(len(spans)))
	return nil
}

// exportError marks an export failure: the exit line already counts it.
type exportError struct{ err error }

func (e exportError) Error() string { return e.err.Error() }
func (e exportError) Unwrap() error { return e.err }

// errorReporter is the global OTel error handler: the SDK and every
// instrumentation library report through it, and the default prints each
// error. It counts them all and prints at most one per interval with the
// number held back, so a broken collector cannot flood stderr. Export
// errors are left to the exit line of tracing.shutdown.
type errorReporter struct {
	w        io.Writer
	interval time.Duration

	mu       sync.Mutex
	total    int
	held     int // not printed since the last printed one
	lastShow time.Time
}

func newErrorReporter(w io.Writer, interval time.Duration) *errorReporter {
	return &errorReporter{w: w, interval: interval}
}

func (r *errorReporter) Handle(err error) {
	if errors.As(err, new(exportError)) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if now := time.Now(); r.lastShow.IsZero() || now.Sub(r.lastShow) >= r.interval {
		held := ""
		if r.held > 0 {
			held = fmt.Sprintf(" (%d more held back)", r.held)
		}
		fmt.Fprintf(r.w, "otel error %d: %v%s\n", r.total, err, held)
		r.lastShow, r.held = now, 0
		return
	}
	r.held++
}

func (r *errorReporter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Command 06-jaeger-zipkin sends the same two-span trace to Jaeger twice —
// over OTLP and in Zipkin's format through the deprecated Zipkin exporter —
// and reads both back from Jaeger's query API to show what each keeps.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/zipkin" //nolint:staticcheck // deprecated upstream: shown with its replacement
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	service := cmp.Or(getenv("OTEL_SERVICE_NAME"), "shop")
	otlpURL := strings.TrimSuffix(cmp.Or(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318"), "/") + "/v1/traces"
	zipkinURL := cmp.Or(getenv("ZIPKIN_ENDPOINT"), "http://localhost:9411/api/v2/spans")
	jaegerURL := cmp.Or(getenv("JAEGER_QUERY_URL"), "http://localhost:16686")
	// url.Parse's error quotes the URL, credentials included: check first
	// and report only the variable's name.
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": otlpURL,
		"ZIPKIN_ENDPOINT": zipkinURL, "JAEGER_QUERY_URL": jaegerURL} {
		if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("%s: not an http(s) URL with a host", name)
		}
	}
	jaeger := newJaegerClient(jaegerURL)

	otlpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpURL))
	if err != nil {
		return fmt.Errorf("otlp exporter: %w", err)
	}
	// Deprecated since otel-go v1.40.0, removed in 2027: Jaeger, Zipkin
	// servers and the Collector accept OTLP, which keeps more (see README).
	zipkinExp, err := zipkin.New(zipkinURL)
	if err != nil {
		return fmt.Errorf("zipkin exporter: %w", err)
	}
	for _, e := range []struct {
		name string
		exp  sdktrace.SpanExporter
	}{{"otlp", otlpExp}, {"zipkin", zipkinExp}} {
		id, err := send(ctx, e.exp, service+"-"+e.name)
		if err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		spans, err := jaeger.trace(qctx, id, 2)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: read back from Jaeger: %w", e.name, err)
		}
		for _, s := range spans {
			fmt.Fprintf(stdout, "%-6s %s\n", e.name+":", s)
		}
	}
	return nil
}

// send records one trace — a root and a failing client call with an
// attribute and an event — and flushes it through exp.
func send(ctx context.Context, exp sdktrace.SpanExporter, service string) (trace.TraceID, error) {
	rec := &recordErr{SpanExporter: exp}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(rec),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))))
	tracer := tp.Tracer("shop")
	rctx, root := tracer.Start(ctx, "checkout")
	_, call := tracer.Start(rctx, "reserve-stock", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.Int("order.items", 3)))
	call.AddEvent("stock.checked")
	call.SetStatus(codes.Error, "out of stock")
	call.End()
	root.End()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// Shutdown flushes the batch; an export error surfaces here.
	if err := errors.Join(tp.Shutdown(sctx), rec.error()); err != nil {
		return trace.TraceID{}, fmt.Errorf("flush: %w", err)
	}
	if !root.SpanContext().IsValid() {
		return trace.TraceID{}, errors.New("no trace recorded")
	}
	return root.SpanContext().TraceID(), nil
}

// recordErr keeps the exporter's errors: the batch processor only hands
// them to otel's global error handler.
type recordErr struct {
	sdktrace.SpanExporter
	mu  sync.Mutex
	err error
}

func (r *recordErr) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := r.SpanExporter.ExportSpans(ctx, spans)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = cmp.Or(r.err, err)
	return err
}

func (r *recordErr) error() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

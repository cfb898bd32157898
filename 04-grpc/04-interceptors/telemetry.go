package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// spanLog is a span processor that keeps finished spans in memory so the
// example can show them; a service exports them with OTLP instead
// (section 4.5).
type spanLog struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (s *spanLog) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (s *spanLog) Shutdown(context.Context) error                  { return nil }
func (s *spanLog) ForceFlush(context.Context) error                { return nil }
func (s *spanLog) OnEnd(span sdktrace.ReadOnlySpan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans = append(s.spans, span)
}

// printFirstTrace shows that the client span of the first call and the
// server span it caused belong to one trace: otelgrpc propagated the trace
// context in the request metadata.
func (s *spanLog) printFirstTrace(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.spans) == 0 {
		fmt.Fprintln(w, "trace: no spans")
		return
	}
	var first trace.TraceID
	for _, sp := range s.spans {
		if sp.SpanKind() == trace.SpanKindClient {
			first = sp.SpanContext().TraceID()
			break
		}
	}
	var kinds []string
	for _, sp := range s.spans {
		if sp.SpanContext().TraceID() == first {
			kinds = append(kinds, sp.SpanKind().String()+" "+sp.Name())
		}
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "trace of the first call: %s\n", strings.Join(kinds, ", "))
}

// printMetrics prints grpc_server_handled_total per method and code, the
// counter behind error-rate alerts, and how many calls the latency
// histogram grpc_server_handling_seconds saw per method (its buckets give
// the percentiles; their values vary from run to run).
func printMetrics(w io.Writer, g prometheus.Gatherer) error {
	families, err := g.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	var lines []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch {
			case f.GetName() == "grpc_server_handled_total" && m.GetCounter().GetValue() > 0:
				// InitializeMetrics creates every method × code at zero.
				lines = append(lines, fmt.Sprintf("grpc_server_handled_total{grpc_method=%q,grpc_code=%q} %g",
					labels["grpc_method"], labels["grpc_code"], m.GetCounter().GetValue()))
			case f.GetName() == "grpc_server_handling_seconds" && m.GetHistogram().GetSampleCount() > 0:
				lines = append(lines, fmt.Sprintf("grpc_server_handling_seconds_count{grpc_method=%q} %d",
					labels["grpc_method"], m.GetHistogram().GetSampleCount()))
			}
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}

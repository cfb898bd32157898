package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/05-observability/internal/jaegertest"
	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/contrib/bridges/otelslog"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The run follows each request through the three signals (its output
// says so); the test then checks, from Jaeger itself, that each log line's
// span_id is the server span of its trace.
func TestRun(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.OTLP)
	jaeger := testkit.Require(t, testkit.JaegerQuery)
	service := testkit.Name(t)
	var out bytes.Buffer
	err := run(t.Context(), []string{"-time=false"}, testkit.Getenv(t, map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "OTEL_SERVICE_NAME": service}), &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, out.String())

	servers := map[string]string{} // trace id → server span id, from Jaeger
	for _, s := range jaegertest.Spans(t, jaeger, service, 4, 2) {
		if s.Kind == 2 {
			servers[s.TraceID] = s.SpanID
		}
	}
	n := 0
	for line := range strings.Lines(out.String()) {
		var rec struct {
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		n++
		if rec.SpanID == "" || servers[rec.TraceID] != rec.SpanID {
			t.Errorf("log line %s: span %s, Jaeger's server span of that trace is %q", line, rec.SpanID, servers[rec.TraceID])
		}
	}
	if n != 2 {
		t.Errorf("%d log lines, want 2", n)
	}
}

// With Jaeger down the spans are counted as ended but not exported: the
// two counters on /metrics show the loss; when Jaeger is back, the new
// spans are exported again.
func TestSpanCounters_JaegerDown(t *testing.T) {
	t.Parallel()
	p, proxied := faultproxy.ForURL(t, testkit.Require(t, testkit.OTLP))
	p.Cut()
	tel, err := newTelemetry(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": proxied}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tel.shutdown(ctx)
	})
	spans := func(n int) {
		for range n {
			_, s := tel.tp.Tracer("t").Start(t.Context(), "work")
			s.End()
		}
		_ = tel.tp.ForceFlush(t.Context()) // fails while Jaeger is down
	}
	want := func(ended, exported int) {
		t.Helper()
		exp := fmt.Sprintf(`# HELP trace_spans_ended_total Sampled spans ended in this process.
# TYPE trace_spans_ended_total counter
trace_spans_ended_total %d
# HELP trace_spans_exported_total Spans the trace exporter delivered.
# TYPE trace_spans_exported_total counter
trace_spans_exported_total %d
`, ended, exported)
		if err := testutil.GatherAndCompare(tel.reg, strings.NewReader(exp),
			"trace_spans_ended_total", "trace_spans_exported_total"); err != nil {
			t.Error(err)
		}
	}
	spans(10)
	want(10, 0)
	p.Restore(t)
	spans(5)
	want(15, 5)
}

func TestRun_RejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		env  map[string]string
		want string
	}{
		"endpoint":  {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://u:s3cr3t-pw@[::1"}, "OTEL_EXPORTER_OTLP_ENDPOINT: not a URL with a host"},
		"http_addr": {map[string]string{"HTTP_ADDR": "256.0.0.1:0"}, "listen: "},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), nil, testkit.Getenv(t, tt.env), &out)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("err = %v, want prefix %q and no password", err, tt.want)
			}
		})
	}
}

// The alternative to a trace-id handler: the otelslog bridge turns slog
// records into OpenTelemetry log records, whose trace and span ids are
// fields of the record, taken from the context — for an OTLP logs backend.
func TestOTelSlogBridge(t *testing.T) {
	t.Parallel()
	exp := &memLogs{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	logger := slog.New(otelslog.NewHandler("orders", otelslog.WithLoggerProvider(lp)))
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(t.Context(), "GET /orders/{id}")
	logger.InfoContext(ctx, "order loaded", "order_id", "1")
	logger.Info("no context")
	span.End()
	recs := exp.get()
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0].TraceID() != span.SpanContext().TraceID() || recs[0].SpanID() != span.SpanContext().SpanID() ||
		recs[0].Body().AsString() != "order loaded" {
		t.Errorf("record 0: trace %s span %s body %v", recs[0].TraceID(), recs[0].SpanID(), recs[0].Body())
	}
	if recs[1].TraceID().IsValid() {
		t.Error("a record without context has a trace id")
	}
}

type memLogs struct {
	mu   sync.Mutex
	recs []sdklog.Record
}

func (m *memLogs) Export(_ context.Context, rs []sdklog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rs {
		m.recs = append(m.recs, r.Clone())
	}
	return nil
}
func (m *memLogs) Shutdown(context.Context) error   { return nil }
func (m *memLogs) ForceFlush(context.Context) error { return nil }
func (m *memLogs) get() []sdklog.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recs
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/05-observability/internal/jaegertest"
	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

func stack(t *testing.T) (natsURL, otlp, jaeger string) {
	t.Helper()
	return testkit.Require(t, testkit.NATS), testkit.Require(t, testkit.OTLP), testkit.Require(t, testkit.JaegerQuery)
}

// run sets the globals that instrumented libraries use. Not parallel: it
// runs before the parallel tests, which all set them too.
func TestRun_SetsGlobals(t *testing.T) {
	stack(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": ""}), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if _, ok := otel.GetTracerProvider().(*tracing); !ok {
		t.Errorf("global tracer provider is %T, want the program's", otel.GetTracerProvider())
	}
	if f := otel.GetTextMapPropagator().Fields(); !slices.Contains(f, "traceparent") || !slices.Contains(f, "baggage") {
		t.Errorf("global propagator fields %v, want traceparent and baggage", f)
	}
}

// The README's run, and the same trace read back from Jaeger with its
// parent-child links across the HTTP hop and the message.
func TestRun(t *testing.T) {
	_, _, jaeger := stack(t)
	service := testkit.Name(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_SERVICE_NAME": service,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "", "OTEL_TRACES_SAMPLER_ARG": "", "OTEL_BSP_MAX_QUEUE_SIZE": ""}), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, out.String())
	checkJaegerTraces(t, jaeger, service)
}

func checkJaegerTraces(t *testing.T, jaeger, service string) {
	t.Helper()
	spans := jaegertest.Spans(t, jaeger, service, 8, 2)
	byName := map[string][]jaegertest.Span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	process := one(t, byName, "process orders")
	send := one(t, byName, "send orders")
	// Each hop: child's parent is the span before it, all in one trace.
	chain := []jaegertest.Span{process, send}
	for _, name := range []string{"POST /orders", "HTTP POST", "checkout"} {
		for _, s := range byName[name] {
			if s.TraceID == process.TraceID {
				chain = append(chain, s)
			}
		}
	}
	if len(chain) != 5 {
		t.Fatalf("trace of the message has %d spans, want 5: %+v", len(chain), spans)
	}
	wantKinds := []int{5, 4, 2, 3, 1} // consumer, producer, server, client, internal
	for i, s := range chain {
		if s.Kind != wantKinds[i] {
			t.Errorf("%s: kind %d, want %d", s.Name, s.Kind, wantKinds[i])
		}
		if i+1 < len(chain) && s.ParentSpanID != chain[i+1].SpanID {
			t.Errorf("%s: parent %s, want %s (%s)", s.Name, s.ParentSpanID, chain[i+1].SpanID, chain[i+1].Name)
		}
	}
	if chain[4].ParentSpanID != "" {
		t.Errorf("checkout is not a root: parent %s", chain[4].ParentSpanID)
	}
	if process.Attr("messaging.system") != "nats" || send.Attr("messaging.operation.type") != "send" {
		t.Errorf("messaging attributes: %+v / %+v", process.Attributes, send.Attributes)
	}
	if ev := chain[2].Events; len(ev) != 1 || ev[0].Name != "order.validated" {
		t.Errorf("server span events: %+v", ev)
	}
	// The failed checkout: error status on the root and the server span.
	for _, s := range byName["checkout"] {
		if s.TraceID != process.TraceID && (s.Status.Code != 2 || s.Status.Message != "backend error") {
			t.Errorf("failed checkout status: %+v", s.Status)
		}
	}
	for _, s := range byName["POST /orders"] {
		if s.TraceID != process.TraceID && (s.Status.Code != 2 || s.Attr("error.type") != "payment_unavailable") {
			t.Errorf("failed server span: %+v %s", s.Status, s.Attr("error.type"))
		}
	}
}

func one(t *testing.T, byName map[string][]jaegertest.Span, name string) jaegertest.Span {
	t.Helper()
	if len(byName[name]) != 1 {
		t.Fatalf("%d spans named %q, want 1", len(byName[name]), name)
	}
	return byName[name][0]
}

// The same run over OTLP/gRPC, chosen by OTEL_EXPORTER_OTLP_PROTOCOL, which
// the SDK itself does not read.
func TestRun_GRPC(t *testing.T) {
	_, otlp, jaeger := stack(t)
	grpcURL := otlpGRPC(t, otlp)
	service := testkit.Name(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_SERVICE_NAME": service,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": grpcURL}), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "tracing: otlp grpc to "+grpcURL) ||
		!strings.HasSuffix(out.String(), "traces: 8 of 8 spans exported, 0 lost\n") {
		t.Errorf("output:\n%s", out.String())
	}
	checkJaegerTraces(t, jaeger, service)
}

// otlpGRPC is Jaeger's OTLP/gRPC receiver: the stack exports only the HTTP
// one, and native mode puts gRPC on the port just below it.
func otlpGRPC(t *testing.T, otlpHTTP string) string {
	t.Helper()
	if v := os.Getenv("OTEL_EXPORTER_OTLP_GRPC_ENDPOINT"); v != "" {
		return v
	}
	u, err := url.Parse(otlpHTTP)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port-1))
	return u.String()
}

// Jaeger down: the run still serves its requests, waits no longer than its
// shutdown deadline, reports what it lost and returns no error.
func TestRun_JaegerDown(t *testing.T) {
	_, otlp, _ := stack(t)
	p, proxied := faultproxy.ForURL(t, otlp)
	p.Cut()
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": proxied,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "", "OTEL_TRACES_SAMPLER_ARG": "", "OTEL_BSP_MAX_QUEUE_SIZE": ""}), &out); err != nil {
		t.Fatalf("run failed instead of reporting lost spans: %v", err)
	}
	testkit.CheckReadme(t, 1, out.String())
}

// Jaeger hangs (connections open, no answer): exit waits for its 5 s
// deadline, not for the exporter, and reports every span as lost.
func TestRun_JaegerHangs(t *testing.T) {
	_, otlp, _ := stack(t)
	p, proxied := faultproxy.ForURL(t, otlp)
	p.Blackhole(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": proxied,
		"OTEL_EXPORTER_OTLP_PROTOCOL": ""}), &out); err != nil {
		t.Fatalf("run failed instead of reporting lost spans: %v", err)
	}
	if !strings.Contains(out.String(), "traces: 0 of 8 spans exported, 8 lost (") {
		t.Errorf("output:\n%s", out.String())
	}
}

// Jaeger slow: requests are not delayed (export is asynchronous) and the
// flush on exit still delivers every span within its deadline.
func TestRun_JaegerSlow(t *testing.T) {
	_, otlp, jaeger := stack(t)
	p, proxied := faultproxy.ForURL(t, otlp)
	p.Latency(t, 300*time.Millisecond, 0)
	service := testkit.Name(t)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": proxied,
		"OTEL_SERVICE_NAME": service}), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "traces: 8 of 8 spans exported, 0 lost\n") {
		t.Errorf("output:\n%s", out.String())
	}
	checkJaegerTraces(t, jaeger, service)
}

// With Jaeger accepting connections but never answering (a blackhole),
// the export in flight hangs until its timeout; meanwhile the batcher's
// queue stays bounded: spans past it are dropped and counted, the service
// keeps answering, and once Jaeger answers again at most a queue and a
// batch of the old spans are delivered — not everything that was ended.
func TestBoundedQueue(t *testing.T) {
	t.Parallel()
	natsURL, otlp, _ := stack(t)
	p, proxied := faultproxy.ForURL(t, otlp)
	const queue = 64
	tp, err := newTracing(t.Context(), testkit.Getenv(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": proxied, "OTEL_EXPORTER_OTLP_PROTOCOL": "",
		"OTEL_BSP_MAX_QUEUE_SIZE": strconv.Itoa(queue)}))
	if err != nil {
		t.Fatal(err)
	}
	unblock := p.Blackhole(t)
	srv := backendServer(t, tp, natsURL)
	for i := range 200 {
		if code := post(t, srv.URL, nil); code != http.StatusAccepted {
			t.Fatalf("request %d while Jaeger hangs: %d", i, code)
		}
	}
	tracer := tp.Tracer("load")
	for range 2000 {
		_, span := tracer.Start(t.Context(), "work")
		span.End()
	}
	unblock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	line := tp.shutdown(ctx)
	ended, exported := tp.ended.Load(), tp.exported.Load()
	t.Log(line)
	if ended < 2400 || exported > 2*queue {
		t.Errorf("ended %d, exported %d: want ≥ 2400 ended and at most %d (queue + batch) exported", ended, exported, 2*queue)
	}
	if !strings.Contains(line, fmt.Sprintf("%d of %d spans exported, %d lost", exported, ended, ended-exported)) {
		t.Errorf("shutdown line %q does not report the %d lost spans", line, ended-exported)
	}
}

func backendServer(t *testing.T, tp trace.TracerProvider, natsURL string) *httptest.Server {
	t.Helper()
	nc, err := nats.Connect(natsURL, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	srv := httptest.NewServer(newBackend(tp, prop, nc, "orders."+testkit.Name(t)))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A malformed traceparent or baggage never fails the request: the server
// starts a new trace and ignores the bad baggage.
func TestMalformedHeaders(t *testing.T) {
	t.Parallel()
	natsURL := testkit.Require(t, testkit.NATS)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	srv := backendServer(t, tp, natsURL)
	const badID = "4bf92f3577b34da6a3ce929d0e0e4736"
	cases := map[string]map[string]string{
		"garbage":          {"traceparent": "hello"},
		"all_zero_trace":   {"traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		"all_zero_span":    {"traceparent": "00-" + badID + "-0000000000000000-01"},
		"version_ff":       {"traceparent": "ff-" + badID + "-00f067aa0ba902b7-01"},
		"short_trace_id":   {"traceparent": "00-4bf92f35-00f067aa0ba902b7-01"},
		"uppercase_hex":    {"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"},
		"bad_flags":        {"traceparent": "00-" + badID + "-00f067aa0ba902b7-zz"},
		"bad_baggage":      {"baggage": "tenant=%%%;;,=,===", "traceparent": "garbage"},
		"huge_baggage":     {"baggage": "k=" + strings.Repeat("v", 9000)},
		"baggage_no_value": {"baggage": "tenant"},
	}
	for name, header := range cases {
		t.Run(name, func(t *testing.T) {
			if code := post(t, srv.URL, header); code != http.StatusAccepted {
				t.Fatalf("status %d, want 202", code)
			}
		})
	}
	for _, s := range rec.Ended() {
		if s.SpanKind() != trace.SpanKindServer {
			continue
		}
		if s.Parent().IsValid() || s.SpanContext().TraceID().String() == badID {
			t.Errorf("server span continued a malformed parent: %v", s.Parent())
		}
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.String(), "%%%") {
				t.Errorf("malformed baggage reached the span: %v", kv)
			}
		}
	}
	if n := len(rec.Ended()); n < 2*len(cases) {
		t.Errorf("%d spans recorded, want a server and a send span per request", n)
	}
}

// The structure, checked in memory: baggage reaches the consumer, the
// server span takes its name from the route, errors carry no text.
func TestTraceStructure(t *testing.T) {
	t.Parallel()
	natsURL := testkit.Require(t, testkit.NATS)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	nc, err := nats.Connect(natsURL, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	subject := "orders." + testkit.Name(t)
	done := make(chan processed, 1)
	sub, err := consume(tp, prop, nc, subject, done)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newBackend(tp, prop, nc, subject))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))}
	root, code, err := checkout(t.Context(), tp.Tracer("test"), client, srv.URL+"/orders")
	if err != nil || code != http.StatusAccepted {
		t.Fatalf("checkout: %d %v", code, err)
	}
	var p processed
	select {
	case p = <-done:
	case <-t.Context().Done():
		t.Fatal("no message")
	}
	if p.traceID != root.TraceID() || p.tenant != "acme" {
		t.Errorf("consumer: trace %s tenant %q, want %s acme", p.traceID, p.tenant, root.TraceID())
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if n := len(exp.GetSpans()); n < 5 {
			return fmt.Errorf("%d spans", n)
		}
		return nil
	})
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer {
			if s.Name != "POST /orders" {
				t.Errorf("server span name %q, want the route", s.Name)
			}
			for _, kv := range s.Attributes {
				if kv.Key == semconv.HTTPRouteKey {
					t.Errorf("http.route is set (%v): otelhttp wrapped at the top was expected not to know it at start", kv.Value)
				}
			}
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.String(), "order 42") {
				t.Errorf("message body in span attribute %v", kv)
			}
		}
	}
}

// Pitfalls of the SDK's defaults, each in a fresh process where no global
// has been set yet, with OTEL_PROPAGATORS and OTEL_TRACES_EXPORTER set.
func TestGlobalDefaults(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGlobalDefaultsChild$", "-test.v")
	// The variables that autoexport and autoprop read: the SDK itself
	// does not, so they change nothing here.
	cmd.Env = append(os.Environ(), "OTEL_CHILD=1", "OTEL_PROPAGATORS=tracecontext,baggage",
		"OTEL_TRACES_EXPORTER=otlp")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "carrier: map[]\n") || !strings.Contains(string(out), "span valid: false\n") {
		t.Errorf("child: %v\n%s", err, out)
	}
}

func TestGlobalDefaultsChild(t *testing.T) {
	if os.Getenv("OTEL_CHILD") == "" {
		t.Skip("run by TestGlobalDefaults in a child process")
	}
	// No SetTextMapPropagator: the default injects nothing, so the next
	// service starts a new trace.
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, TraceFlags: 1})
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(trace.ContextWithSpanContext(context.Background(), sc), carrier)
	t.Logf("carrier: %v\n", map[string]string(carrier))
	// No SetTracerProvider: libraries that use the global get no-op spans.
	_, span := otel.Tracer("lib").Start(context.Background(), "query")
	t.Logf("span valid: %v\n", span.SpanContext().IsValid())
}

// WithEndpoint wants host:port: given a URL it builds a bad address and
// every export fails. WithEndpointURL takes the URL.
func TestWithEndpointTakesHostPort(t *testing.T) {
	t.Parallel()
	otlp := testkit.Require(t, testkit.OTLP)
	// A stub needs real ids: Jaeger v2's memory store (v1.76) stops every
	// search at a trace with the all-zero id, hiding all older traces.
	var tid trace.TraceID
	var sid trace.SpanID
	_, _ = rand.Read(tid[:])
	_, _ = rand.Read(sid[:])
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	spans := tracetest.SpanStubs{{Name: "x", SpanContext: sc}}.Snapshots()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	wrong, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(otlp), otlptracehttp.WithInsecure(),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.ExportSpans(ctx, spans); err == nil {
		t.Error("WithEndpoint(URL) exported; want an error")
	}
	right, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlp+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := right.ExportSpans(ctx, spans); err != nil {
		t.Errorf("WithEndpointURL: %v", err)
	}
	_ = wrong.Shutdown(ctx)
	_ = right.Shutdown(ctx)
}

// resource.Merge refuses two resources with different schema URLs, such
// as resource.Default() and attributes from an older semconv package.
func TestResourceMergeSchemaConflict(t *testing.T) {
	t.Parallel()
	old := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.20.0", semconv.ServiceName("x"))
	if _, err := resource.Merge(resource.Default(), old); err == nil || !strings.Contains(err.Error(), "conflicting Schema URL") {
		t.Errorf("merge: %v, want a schema URL conflict", err)
	}
	ok := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("x"))
	if _, err := resource.Merge(resource.Default(), ok); err != nil {
		t.Errorf("merge with the SDK's schema: %v", err)
	}
}

// ParentBased(TraceIDRatioBased(0)): no new trace is sampled, but a
// sampled caller's trace is continued.
func TestSampler_ParentBased(t *testing.T) {
	t.Parallel()
	tp, err := newTracing(t.Context(), testkit.Getenv(t, map[string]string{
		"OTEL_TRACES_SAMPLER_ARG": "0", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("test")
	_, root := tracer.Start(t.Context(), "new")
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1},
		TraceFlags: trace.FlagsSampled, Remote: true})
	_, child := tracer.Start(trace.ContextWithRemoteSpanContext(t.Context(), parent), "continued")
	if root.SpanContext().IsSampled() || !child.SpanContext().IsSampled() {
		t.Errorf("sampled: new %v (want false), continued %v (want true)",
			root.SpanContext().IsSampled(), child.SpanContext().IsSampled())
	}
}

func TestRun_RejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		env  map[string]string
		want string
	}{
		"protocol":      {map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, `OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" is not grpc or http/protobuf`},
		"sampler_arg":   {map[string]string{"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG: want a ratio from 0 to 1"},
		"queue":         {map[string]string{"OTEL_BSP_MAX_QUEUE_SIZE": "-1"}, "OTEL_BSP_MAX_QUEUE_SIZE: want a positive integer"},
		"endpoint":      {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://user:s3cr3t-pw@[::1"}, "OTEL_EXPORTER_OTLP_ENDPOINT: not a URL with a host"},
		"no_host":       {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT: not a URL with a host"},
		"nats_down_url": {map[string]string{"NATS_URL": "nats://127.0.0.1:1"}, "nats: "},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "", "OTEL_TRACES_SAMPLER_ARG": "",
				"OTEL_BSP_MAX_QUEUE_SIZE": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(t.Context(), testkit.Getenv(t, env), &out)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error()+out.String(), "s3cr3t") {
				t.Errorf("password in error or output: %v %s", err, out.String())
			}
		})
	}
}

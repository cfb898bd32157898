package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestRun(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	jaeger := testkit.Require(t, testkit.JaegerQuery)
	testkit.Require(t, testkit.OTLP)
	service := testkit.Name(t)
	var out bytes.Buffer
	err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{
		"DATABASE_URL": db.URL, "OTEL_SERVICE_NAME": service, "METRICS_ADDR": "127.0.0.1:0"}), &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := strings.SplitAfterN(out.String(), "\n", 2)
	if !strings.HasPrefix(lines[0], "metrics: http://127.0.0.1:") {
		t.Errorf("first line = %q", lines[0])
	}
	want := `orders: 3
failing query: SQLSTATE 42P01
scrape: db_client_operation_duration_seconds_count{db_operation_name="CREATE",status="ok"} 1
scrape: db_client_operation_duration_seconds_count{db_operation_name="INSERT",status="ok"} 3
scrape: db_client_operation_duration_seconds_count{db_operation_name="SELECT",status="error"} 1
scrape: db_client_operation_duration_seconds_count{db_operation_name="SELECT",status="ok"} 1
scrape: pgxpool_max_conns{pool="primary"} 4
traces: service ` + service + `, exported on exit
`
	if len(lines) < 2 || lines[1] != want {
		t.Errorf("output:\n%s\nwant after the first line:\n%s", out.String(), want)
	}
	testkit.CheckReadme(t, 0, strings.Replace(out.String(), "service "+service+",", "service orders-db,", 1))

	// The trace, as Jaeger stored it: the parent span, six query spans, an
	// acquire per query and the one connection the pool opened.
	ops := jaegerOperations(t, jaeger, service, 14)
	wantOps := []string{"CREATE", "INSERT", "INSERT", "INSERT", "SELECT", "SELECT", "connect", "list-orders",
		"pool.acquire", "pool.acquire", "pool.acquire", "pool.acquire", "pool.acquire", "pool.acquire"}
	if !slices.Equal(ops, wantOps) {
		t.Errorf("spans in Jaeger = %v, want %v", ops, wantOps)
	}
}

// jaegerOperations polls the Jaeger query API until the service's trace has
// n spans, and returns their operation names, sorted.
func jaegerOperations(t *testing.T, base, service string, n int) []string {
	t.Helper()
	u := base + "/api/traces?service=" + url.QueryEscape(service)
	deadline := time.Now().Add(20 * time.Second)
	var last []string
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Data []struct {
				Spans []struct {
					OperationName string `json:"operationName"`
				} `json:"spans"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err == nil && len(body.Data) == 1 {
			last = last[:0]
			for _, s := range body.Data[0].Spans {
				last = append(last, s.OperationName)
			}
			if len(last) >= n {
				slices.Sort(last)
				return last
			}
		}
		select {
		case <-time.After(100 * time.Millisecond): // paces the polling only
		case <-t.Context().Done():
		}
	}
	t.Fatalf("Jaeger has no complete trace for %s: %v", service, last)
	return nil
}

func TestRun_Help(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-help"}, testkit.Getenv(t, nil), &out)
	want := "Usage of 13-observability:\n  -serve\n    \tkeep serving /metrics until Ctrl-C\n"
	if err != nil || out.String() != want {
		t.Errorf("-help: err=%v output=%q, want %q and no error", err, out.String(), want)
	}
}

func TestRun_RejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown_flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"bad_database_url", nil, map[string]string{"DATABASE_URL": "postgres://%zz"}, "parse DATABASE_URL"},
		{"bad_metrics_addr", nil, map[string]string{"METRICS_ADDR": "256.0.0.1:0"}, "listen 256.0.0.1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(t.Context(), tt.args, testkit.Getenv(t, env), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// The tracer's spans, recorded in memory, and the /metrics it feeds,
// checked by promlint.
func TestTracerSpansAndMetrics(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reg := prometheus.NewRegistry()
	duration := newDurationHistogram()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = newQueryTracer(tp.Tracer("test"), duration, &cfg.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg.MustRegister(duration, newPoolCollector(pool, "primary"))

	if _, err := pool.Exec(t.Context(), "SELECT $1::int", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(t.Context(), "SELEC 1"); err == nil {
		t.Fatal("a syntax error passed")
	}

	attrs := func(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
		m := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			m[kv.Key] = kv.Value.String()
		}
		return m
	}
	// A secret-looking argument that the server quotes in its message and
	// that pgx prints in its encode error: neither reaches a span.
	const secret = "tok3n-s3cret"
	if _, err := pool.Exec(t.Context(), "SELECT $1::text::int", secret); err == nil {
		t.Fatal("cast of a non-number succeeded")
	}
	if _, err := pool.Exec(t.Context(), "SELECT $1::int", struct{ Token string }{secret}); err == nil {
		t.Fatal("encode of a struct into int succeeded")
	}
	for _, s := range querySpans(rec) {
		if dump := fmt.Sprintf("%v %v %v", s.Attributes(), s.Status(), s.Events()); strings.Contains(dump, secret) {
			t.Errorf("span %s carries the argument: %s", s.Name(), dump)
		}
	}
	if got := querySpans(rec); len(got) == 4 {
		if code := attrs(got[2])["error.type"]; code != "22P02" || got[2].Status().Description != "22P02" {
			t.Errorf("server error span: error.type %q, status %v", code, got[2].Status())
		}
		if typ := attrs(got[3])["error.type"]; typ == "" || got[3].Status().Code != codes.Error {
			t.Errorf("encode error span: error.type %q, status %v", typ, got[3].Status())
		}
	}

	spans := querySpans(rec)[:2]
	if len(querySpans(rec)) != 4 {
		t.Fatalf("%d spans, want 4", len(querySpans(rec)))
	}
	ok, bad := attrs(spans[0]), attrs(spans[1])
	if spans[0].Name() != "SELECT" || ok["db.system.name"] != "postgresql" || ok["db.namespace"] != db.Name ||
		ok["db.query.text"] != "SELECT $1::int" || ok["db.operation.name"] != "SELECT" || spans[0].Status().Code == codes.Error {
		t.Errorf("ok span %s: %v", spans[0].Name(), ok)
	}
	if spans[1].Name() != "OTHER" || bad["db.response.status_code"] != "42601" || bad["error.type"] != "42601" ||
		spans[1].Status().Code != codes.Error {
		t.Errorf("error span %s: %v %v", spans[1].Name(), bad, spans[1].Status())
	}

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.New(bytes.NewReader(body.Bytes())).Lint()
	if err != nil || len(problems) != 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	for _, series := range []string{
		`db_client_operation_duration_seconds_count{db_operation_name="SELECT",status="ok"} 1`,
		`db_client_operation_duration_seconds_count{db_operation_name="OTHER",status="error"} 1`,
		`db_client_operation_duration_seconds_count{db_operation_name="SELECT",status="error"} 2`,
		`pgxpool_acquires_total{pool="primary"} 4`, `pgxpool_acquired_conns{pool="primary"} 0`,
		`pgxpool_total_conns{pool="primary"} 1`,
	} {
		if !strings.Contains(body.String(), series+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", series, body.String())
		}
	}
}

func TestOperation(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]string{"select 1": "SELECT", "  INSERT INTO t VALUES (1)": "INSERT",
		"VACUUM t": "OTHER", "": "OTHER"} {
		if got := operation(q); got != want {
			t.Errorf("operation(%q) = %s, want %s", q, got, want)
		}
	}
}

// querySpans are the recorded spans of queries, without the pool's
// acquire and connect spans.
func querySpans(rec *tracetest.SpanRecorder) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() != "pool.acquire" && s.Name() != "connect" {
			out = append(out, s)
		}
	}
	return out
}

// Batches, COPYs, connects and pool acquires get spans too, children of
// the caller's span; batches and COPYs are observed in the histogram.
func TestTracerSpansBatchCopyConnectAcquire(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	duration := newDurationHistogram()
	cfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = newQueryTracer(tp.Tracer("test"), duration, &cfg.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx, parent := tp.Tracer("test").Start(t.Context(), "parent")
	if _, err := pool.Exec(ctx, "CREATE TABLE lines (n int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"lines"}, []string{"n"}, pgx.CopyFromRows([][]any{{1}, {2}})); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("SELECT 1")
	b.Queue("SELECT 2")
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	parent.End()

	count := map[string]int{}
	for _, s := range rec.Ended() {
		count[s.Name()]++
		if s.Name() != "parent" && s.Parent().SpanID() != parent.SpanContext().SpanID() &&
			s.Name() != "connect" { // connect runs inside the first acquire
			t.Errorf("span %s is not a child of the caller's span", s.Name())
		}
		if s.Name() == "BATCH" {
			for _, kv := range s.Attributes() {
				if kv.Key == "db.operation.batch.size" && kv.Value.AsInt64() != 2 {
					t.Errorf("batch size = %d, want 2", kv.Value.AsInt64())
				}
			}
		}
	}
	if count["BATCH"] != 1 || count["COPY"] != 1 || count["pool.acquire"] != 3 || count["connect"] != 1 {
		t.Errorf("spans = %v, want BATCH 1, COPY 1, pool.acquire 3, connect 1", count)
	}
	for _, op := range []string{"BATCH", "COPY"} {
		if n := testutil.CollectAndCount(duration.WithLabelValues(op, "ok").(prometheus.Collector)); n != 1 {
			t.Errorf("histogram has no %s observation", op)
		}
	}
}

// 04-pooling and this example export the pool with one collector: the
// same file, so the same metric names mean the same thing.
func TestPoolCollectorIsThatOf04(t *testing.T) {
	t.Parallel()
	mine, err := os.ReadFile("collector.go")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := os.ReadFile("../04-pooling/collector.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mine, theirs) {
		t.Error("collector.go differs from ../04-pooling/collector.go: keep one pool collector")
	}
}

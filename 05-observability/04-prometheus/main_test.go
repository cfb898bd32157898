package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{"HTTP_ADDR": "127.0.0.1:0"}), &out); err != nil {
		t.Fatal(err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

func TestRun_RejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		args []string
		addr string
		want string
	}{
		"unknown_flag":   {[]string{"-nope"}, "127.0.0.1:0", "flag provided but not defined: -nope"},
		"bad_http_addr":  {nil, "256.0.0.1:0", "listen: listen tcp: lookup 256.0.0.1"},
		"port_not_a_num": {nil, "127.0.0.1:http2", "listen: "},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), tt.args, testkit.Getenv(t, map[string]string{"HTTP_ADDR": tt.addr}), &out)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

// server is the example's handler stack on a test server, with its registry.
func server(t *testing.T, maxTenants int) (*httptest.Server, *prometheus.Registry, *metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := newMetrics(reg, maxTenants)
	if err != nil {
		t.Fatal(err)
	}
	app := http.NewServeMux()
	app.HandleFunc("GET /orders/{id}", func(http.ResponseWriter, *http.Request) {})
	root := http.NewServeMux()
	root.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	root.Handle("/", withTraceContext(m.middleware(app)))
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv, reg, m
}

// The real /metrics, parsed with expfmt as Prometheus would, and linted.
func TestScrape_ParsedAndLinted(t *testing.T) {
	t.Parallel()
	srv, _, _ := server(t, 3)
	if err := traffic(t.Context(), srv.URL); err != nil {
		t.Fatal(err)
	}
	text, err := scrape(t.Context(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	h := fams["http_server_request_duration_seconds"]
	// GET 200, GET 404, POST 404, _OTHER 405 (the test mux has one route).
	if h.GetType() != dto.MetricType_HISTOGRAM || len(h.GetMetric()) != 4 {
		t.Fatalf("histogram family: %v", h)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "http_server_active_requests"} {
		if fams[name] == nil {
			t.Errorf("no %s in the scrape", name)
		}
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil || len(problems) != 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// The guard keeps the first values and folds the rest into "other".
func TestLabelGuard_CapsTenants(t *testing.T) {
	t.Parallel()
	srv, _, m := server(t, 2)
	for _, tenant := range []string{"a", "b", "c", "a", "d", ""} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/orders/1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Tenant", tenant)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := `# HELP app_requests_by_tenant_total Requests per tenant; tenants past the cap count as other.
# TYPE app_requests_by_tenant_total counter
app_requests_by_tenant_total{tenant="a"} 2
app_requests_by_tenant_total{tenant="b"} 1
app_requests_by_tenant_total{tenant="none"} 1
app_requests_by_tenant_total{tenant="other"} 2
`
	if err := testutil.CollectAndCompare(m.byTenant, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// The custom collector reads the queue at scrape time.
func TestQueueCollector(t *testing.T) {
	t.Parallel()
	jobs := make(chan int, 10)
	c := newQueueCollector(func() int { return len(jobs) })
	for want := range 3 {
		exp := "# HELP app_queue_depth Jobs waiting in the queue.\n# TYPE app_queue_depth gauge\napp_queue_depth " +
			string(rune('0'+want)) + "\n"
		if err := testutil.CollectAndCompare(c, strings.NewReader(exp)); err != nil {
			t.Error(err)
		}
		jobs <- want
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// A Prometheus server that asks for protobuf gets the native buckets; the
// text formats carry the classic ones only.
func TestNativeHistogram(t *testing.T) {
	t.Parallel()
	srv, _, _ := server(t, 3)
	if err := traffic(t.Context(), srv.URL); err != nil {
		t.Fatal(err)
	}
	h := protoScrape(t, srv.URL)["http_server_request_duration_seconds"]
	if h == nil {
		t.Fatal("no histogram in the protobuf scrape")
	}
	for _, m := range h.GetMetric() {
		hist := m.GetHistogram()
		if hist.Schema == nil || len(hist.GetPositiveSpan()) == 0 || len(hist.GetBucket()) != 14 {
			t.Errorf("want native (schema, spans) and 14 classic buckets: schema=%v spans=%d buckets=%d",
				hist.Schema, len(hist.GetPositiveSpan()), len(hist.GetBucket()))
		}
	}
}

// Without classic buckets a native histogram shows a text scraper
// (Prometheus without native histograms, most other tools) only +Inf.
func TestNativeOnly_ClassicScraperSeesInf(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "native_only_seconds", Help: "x.",
		NativeHistogramBucketFactor: 1.1})
	reg.MustRegister(h)
	h.Observe(0.2)
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatal(mfs, err)
	}
	var out bytes.Buffer
	if _, err := expfmt.MetricFamilyToText(&out, mfs[0]); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "native_only_seconds_bucket"); n != 1 ||
		!strings.Contains(out.String(), `native_only_seconds_bucket{le="+Inf"} 1`) {
		t.Errorf("want only the +Inf bucket:\n%s", out.String())
	}
}

// Exemplars appear only when the scraper negotiates OpenMetrics, which
// also writes le="1.0" where the text format writes le="1".
func TestExemplars_OpenMetricsOnly(t *testing.T) {
	t.Parallel()
	srv, _, _ := server(t, 3)
	if err := traffic(t.Context(), srv.URL); err != nil {
		t.Fatal(err)
	}
	text, err := scrape(t.Context(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	om, err := scrape(t.Context(), srv.URL, openMetrics)
	if err != nil {
		t.Fatal(err)
	}
	ex := `# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"}`
	if strings.Contains(text, ex) || strings.Count(om, ex) != 1 {
		t.Errorf("exemplar: text has %d, OpenMetrics %d, want 0 and 1", strings.Count(text, ex), strings.Count(om, ex))
	}
	if !strings.Contains(text, `le="1"}`) || !strings.Contains(om, `le="1.0"}`) || strings.Contains(om, `le="1"}`) {
		t.Error("le formatting: want 1 in text, 1.0 in OpenMetrics")
	}
}

// The default registry is global: a second MustRegister of the same metric
// panics, which is why the example injects its own registry.
func TestMustRegisterTwicePanics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg, 1); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second MustRegister did not panic")
		}
	}()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_server_active_requests", Help: "Requests being served."}))
}

func protoScrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	fams := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		fams[mf.GetName()] = &mf
	}
	return fams
}

package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Two clients that send different Host headers make one series, not two:
// the view drops server.address and server.port from http.server.*.
func TestServerMetrics_HostIsNotALabel(t *testing.T) {
	t.Parallel()
	tel, err := newTelemetry(t.Context(), testkit.Getenv(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SERVICE_NAME": ""}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.mp.Shutdown(t.Context()) })
	h := otelhttp.NewHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "orders",
		otelhttp.WithTracerProvider(tel.tp), otelhttp.WithMeterProvider(tel.mp))
	for _, host := range []string{"a.example:80", "b.example:8443", "c.example"} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/orders/1", nil)
		req.Host = host
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	fams, err := tel.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		if f.GetName() != "http_server_request_duration_seconds" {
			continue
		}
		found = true
		if n := len(f.GetMetric()); n != 1 {
			t.Errorf("%d series for three Host values, want 1", n)
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.HasPrefix(l.GetName(), "server_") {
					t.Errorf("label %s=%q on a server metric", l.GetName(), l.GetValue())
				}
			}
		}
	}
	if !found {
		t.Error("no http_server_request_duration_seconds on the registry")
	}
}

// The demo's copy of the log lines ends with the demo.
func TestLockedBuffer_Stop(t *testing.T) {
	t.Parallel()
	var b lockedBuffer
	_, _ = b.Write([]byte("demo line\n"))
	b.stop()
	if n, err := b.Write([]byte("served line\n")); n != len("served line\n") || err != nil {
		t.Errorf("Write after stop: %d, %v", n, err)
	}
	if b.String() != "" {
		t.Errorf("kept after stop: %q", b.String())
	}
}

// docker stop and Kubernetes send SIGTERM: run stops on it. Not parallel:
// the signal reaches every run in the process. Without SIGTERM in
// signal.NotifyContext the signal kills the test binary. A stand-in
// collector and query API that never answers keep run busy until then.
func TestRun_StopsOnSIGTERM(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			return // 200: spans accepted
		}
		<-r.Context().Done()
	}))
	t.Cleanup(stall.Close)
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"-serve", "-time=false"}, testkit.Getenv(t, map[string]string{
			"HTTP_ADDR": "127.0.0.1:0", "OTEL_SERVICE_NAME": "", "OTEL_EXPORTER_OTLP_ENDPOINT": stall.URL,
			"JAEGER_QUERY_URL": stall.URL}), out)
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "order loaded") {
			return errors.New("no request served yet")
		}
		return nil
	})
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Logf("run after SIGTERM: %v (the interrupted demo fails; expected)", err)
	case <-time.After(20 * time.Second):
		t.Fatal("run still going 20s after SIGTERM")
	}
}

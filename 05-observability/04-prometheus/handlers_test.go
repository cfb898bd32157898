package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/prometheus/client_golang/prometheus"
)

// A full queue answers 503 at once instead of hanging the request.
func TestEnqueue_FullQueueAnswers503(t *testing.T) {
	t.Parallel()
	jobs := make(chan int, 2)
	h := enqueue(jobs)
	for i, want := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusServiceUnavailable} {
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/orders", nil))
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("POST %d with %d queued: still blocked", i+1, len(jobs))
		}
		if rec.Code != want {
			t.Errorf("POST %d: %d, want %d", i+1, rec.Code, want)
		}
	}
}

// A pattern without a method is kept as the route, not turned into "".
func TestMiddleware_RouteWithoutMethod(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg, 3)
	if err != nil {
		t.Fatal(err)
	}
	app := http.NewServeMux()
	app.HandleFunc("/health", func(http.ResponseWriter, *http.Request) {})
	app.HandleFunc("GET /orders/{id}", func(http.ResponseWriter, *http.Request) {})
	h := m.middleware(app)
	for _, p := range []string{"/health", "/orders/7"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, p, nil))
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range fams {
		if f.GetName() != "http_server_request_duration_seconds" {
			continue
		}
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "http_route" {
					routes = append(routes, l.GetValue())
				}
			}
		}
	}
	if strings.Join(routes, " ") != "/health /orders/{id}" {
		t.Errorf("routes %q, want [/health /orders/{id}]", routes)
	}
}

// A scrape that fails says so without a %!w(<nil>) in its message.
func TestScrape_StatusError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	_, err := scrape(t.Context(), srv.URL, "")
	if err == nil || err.Error() != "scrape: status 500" {
		t.Errorf("err = %v, want scrape: status 500", err)
	}
}

// docker stop and Kubernetes send SIGTERM: -serve stops cleanly on it.
// Not parallel: the signal reaches every run in the process. Without
// SIGTERM in signal.NotifyContext the signal kills the test binary.
func TestServe_StopsOnSIGTERM(t *testing.T) {
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"-serve"}, testkit.Getenv(t, map[string]string{"HTTP_ADDR": "127.0.0.1:0"}), out)
	}()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "openmetrics: http_server_request_duration_seconds_bucket") {
			return errOutput(out.String())
		}
		return nil
	})
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run still serving 10s after SIGTERM")
	}
}

type errOutput string

func (e errOutput) Error() string { return "demo not done yet: " + string(e) }

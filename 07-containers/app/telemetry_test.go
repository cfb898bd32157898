package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recordingTelemetry is the service's telemetry with its spans kept in
// memory, and a collector that answers what the test says.
func recordingTelemetry(t *testing.T, collectorStatus int) (*telemetry, *tracetest.SpanRecorder) {
	t.Helper()
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(collectorStatus)
	}))
	t.Cleanup(collector.Close)
	tel, err := newTelemetry(t.Context(), &config{OTLPEndpoint: collector.URL, ServiceName: "app-test"})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tel.tp.RegisterSpanProcessor(rec)
	return tel, rec
}

// The server span joins the caller's trace (W3C traceparent), and a 5xx
// is an error span; a 4xx is not.
func TestSpanContinuesTraceAndMarksServerErrors(t *testing.T) {
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tt := range []struct {
		code int
		want codes.Code
	}{{http.StatusInternalServerError, codes.Error}, {http.StatusServiceUnavailable, codes.Error},
		{http.StatusNotFound, codes.Unset}, {http.StatusOK, codes.Unset}} {
		tel, rec := recordingTelemetry(t, http.StatusOK)
		h := tel.instrument("GET /items/{id}", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tt.code)
		})
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/items/1", nil)
		req.Header.Set("Traceparent", "00-"+traceID+"-"+parentID+"-01")
		h.ServeHTTP(httptest.NewRecorder(), req)
		spans := rec.Ended()
		if len(spans) != 1 {
			t.Fatalf("%d ended spans, want 1", len(spans))
		}
		s := spans[0]
		if got := s.SpanContext().TraceID().String(); got != traceID {
			t.Errorf("%d: trace id %s, want the caller's %s", tt.code, got, traceID)
		}
		if got := s.Parent().SpanID().String(); got != parentID || !s.Parent().IsRemote() {
			t.Errorf("%d: parent %s (remote %v), want the caller's %s", tt.code, got, s.Parent().IsRemote(), parentID)
		}
		if got := s.Status().Code; got != tt.want {
			t.Errorf("%d: span status %v, want %v", tt.code, got, tt.want)
		}
	}
}

// A collector that refuses the last spans: the exit still succeeds, and
// stderr says the spans were lost.
func TestShutdownReportsFlushError(t *testing.T) {
	tel, _ := recordingTelemetry(t, http.StatusBadRequest)
	_, span := tel.tracer.Start(t.Context(), "last request")
	span.End()
	var stderr strings.Builder
	tel.shutdown(&stderr)
	if !strings.HasPrefix(stderr.String(), "telemetry: flush traces: ") {
		t.Errorf("stderr after a failed flush: %q", stderr.String())
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
)

func endpoints(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": testkit.Require(t, testkit.OTLP),
		"ZIPKIN_ENDPOINT":             testkit.Require(t, testkit.Zipkin),
		"JAEGER_QUERY_URL":            testkit.Require(t, testkit.JaegerQuery),
	}
}

// Both traces come back from Jaeger, and both services are listed by the
// documented /api/v3/services and by the UI's /api/services.
func TestRun(t *testing.T) {
	t.Parallel()
	env := endpoints(t)
	service := testkit.Name(t)
	env["OTEL_SERVICE_NAME"] = service
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, env), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, out.String())

	var v3 struct {
		Services []string `json:"services"`
	}
	var internal struct {
		Data []string `json:"data"`
	}
	getJSON(t, env["JAEGER_QUERY_URL"]+"/api/v3/services", &v3)
	getJSON(t, env["JAEGER_QUERY_URL"]+"/api/services", &internal)
	for _, s := range []string{service + "-otlp", service + "-zipkin"} {
		if !slices.Contains(v3.Services, s) || !slices.Contains(internal.Data, s) {
			t.Errorf("%s: in /api/v3/services %v, in /api/services %v", s,
				slices.Contains(v3.Services, s), slices.Contains(internal.Data, s))
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// A Zipkin receiver that is down is reported as the flush's error, at once,
// not as a trace missing from Jaeger later.
func TestRun_ZipkinDown(t *testing.T) {
	t.Parallel()
	env := endpoints(t)
	p, proxied := faultproxy.ForURL(t, env["ZIPKIN_ENDPOINT"])
	p.Cut()
	env["ZIPKIN_ENDPOINT"] = proxied
	env["OTEL_SERVICE_NAME"] = testkit.Name(t)
	var out bytes.Buffer
	err := run(t.Context(), testkit.Getenv(t, env), &out)
	if err == nil || !strings.HasPrefix(err.Error(), "zipkin: flush: ") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want zipkin: flush: ... connection refused", err)
	}
	if !strings.HasPrefix(out.String(), "otlp:  checkout") {
		t.Errorf("the OTLP half should have completed:\n%s", out.String())
	}
}

func TestRun_RejectsBadURLs(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct{ key, value string }{
		"zipkin_not_url":     {"ZIPKIN_ENDPOINT", "http://user:s3cr3t-pw@[::1"},
		"zipkin_no_scheme":   {"ZIPKIN_ENDPOINT", "localhost:9411/api/v2/spans"},
		"jaeger_not_url":     {"JAEGER_QUERY_URL", "http://user:s3cr3t-pw@[::1"},
		"otlp_grpc_not_http": {"OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://localhost:4317"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), testkit.Getenv(t, map[string]string{tt.key: tt.value}), &out)
			want := tt.key + ": not an http(s) URL with a host"
			if err == nil || err.Error() != want {
				t.Errorf("err = %v, want %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Error("password in the error")
			}
		})
	}
}

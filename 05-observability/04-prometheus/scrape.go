package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"
)

// withTraceContext puts the caller's W3C traceparent into the request's
// context, so the exemplars carry its trace id. With a tracer (see
// 07-correlation) otelhttp does this and starts a server span.
func withTraceContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

const demoTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// traffic sends the requests the scrape then shows: three orders read by a
// traced client, two jobs queued, a failure, an unknown path and an
// unknown method.
func traffic(ctx context.Context, base string) error {
	reqs := []struct{ method, path, tenant string }{
		{"GET", "/orders/1", "t1"}, {"GET", "/orders/2", "t2"}, {"GET", "/orders/3", "t3"},
		{"POST", "/orders", "t4"}, {"POST", "/orders", "t5"},
		{"GET", "/fail", ""}, {"GET", "/nope", ""}, {"BREW", "/orders/1", ""},
	}
	for _, rq := range reqs {
		req, err := http.NewRequestWithContext(ctx, rq.method, base+rq.path, nil)
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		req.Header.Set("X-Tenant", rq.tenant)
		if rq.method == "GET" && strings.HasPrefix(rq.path, "/orders/") {
			req.Header.Set("traceparent", demoTraceparent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", rq.method, rq.path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return nil
}

// openMetrics is the Accept header of a scraper that wants exemplars.
const openMetrics = "application/openmetrics-text;version=1.0.0"

func scrape(ctx context.Context, base, accept string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("scrape: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("scrape: read body: %w", err)
	}
	return string(body), nil
}

// printScrape prints the lines of the two formats that tell the lesson.
func printScrape(ctx context.Context, base string, stdout io.Writer) error {
	text, err := scrape(ctx, base, "")
	if err != nil {
		return err
	}
	bucket := `http_server_request_duration_seconds_bucket{http_request_method="GET",http_response_status_code="200",http_route="/orders/{id}",le="1`
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_count") ||
			strings.HasPrefix(line, "app_") || strings.HasPrefix(line, bucket+`"}`) {
			fmt.Fprint(stdout, "text: ", line)
		}
	}
	om, err := scrape(ctx, base, openMetrics)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(strings.NewReader(om))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, bucket+`.0"}`) {
			series, _, _ := strings.Cut(line, " # ")
			fmt.Fprintln(stdout, "openmetrics:", series)
		}
		if _, ex, ok := strings.Cut(line, " # "); ok && strings.HasPrefix(line, "http_server_request_duration_seconds_bucket") {
			labels, _, _ := strings.Cut(ex, "} ")
			fmt.Fprintln(stdout, "openmetrics: exemplar", labels+"}")
		}
	}
	return nil
}

// Package jaegertest reads traces back from Jaeger's documented query API,
// /api/v3, for the section's tests.
package jaegertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

// Span is one span as /api/v3/traces returns it (OTLP JSON).
type Span struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Name         string `json:"name"`
	Kind         int    `json:"kind"` // 1 internal, 2 server, 3 client, 4 producer, 5 consumer
	Status       struct {
		Code    int    `json:"code"` // 2 = error
		Message string `json:"message"`
	} `json:"status"`
	Attributes []struct {
		Key   string `json:"key"`
		Value struct {
			StringValue string `json:"stringValue"`
			IntValue    string `json:"intValue"`
		} `json:"value"`
	} `json:"attributes"`
	Events []struct {
		Name string `json:"name"`
	} `json:"events"`
}

// Attr returns the string (or integer, as text) value of attribute key.
func (s Span) Attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.StringValue + a.Value.IntValue
		}
	}
	return ""
}

// Spans polls Jaeger until service has at least n spans in its most recent
// traces (at most traces of them) and returns them, sorted by name.
//
// Keep traces at the number the test produced: Jaeger's memory store scans
// its whole ring of traces, under its lock, until it has found that many,
// so a large query.num_traces makes every poll scan everything.
func Spans(t *testing.T, base, service string, n, traces int) []Span {
	t.Helper()
	var spans []Span
	testkit.Eventually(t, 30*time.Second, func() error {
		var err error
		spans, err = query(t, base, service, traces)
		if err != nil {
			return err
		}
		if len(spans) < n {
			return fmt.Errorf("%d of %d spans of %s in Jaeger", len(spans), n, service)
		}
		return nil
	})
	slices.SortFunc(spans, func(a, b Span) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return spans
}

// query calls /api/v3/traces. In Jaeger v2 (module v1.76) it needs the
// time window and query.num_traces; it answers OTLP JSON.
func query(t *testing.T, base, service string, traces int) ([]Span, error) {
	now := time.Now().UTC()
	q := url.Values{
		"query.service_name":   {service},
		"query.start_time_min": {now.Add(-time.Hour).Format(time.RFC3339Nano)},
		"query.start_time_max": {now.Add(time.Minute).Format(time.RFC3339Nano)},
		"query.num_traces":     {strconv.Itoa(traces)},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/api/v3/traces?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Result struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []Span `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		} `json:"result"`
		Error *struct {
			HTTPCode int    `json:"httpCode"`
			Message  string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if body.Error != nil {
		// 404 "trace not found" until the first span arrives.
		return nil, fmt.Errorf("jaeger: %d %s", body.Error.HTTPCode, body.Error.Message)
	}
	var spans []Span
	for _, rs := range body.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			spans = append(spans, ss.Spans...)
		}
	}
	return spans, nil
}

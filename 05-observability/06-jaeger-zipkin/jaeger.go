package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// jaegerClient reads traces from Jaeger's documented query API, /api/v3,
// which answers in OTLP JSON. (/api/traces is the UI's internal API.)
type jaegerClient struct {
	base string
	http *http.Client
}

func newJaegerClient(base string) *jaegerClient {
	return &jaegerClient{base: strings.TrimSuffix(base, "/"), http: &http.Client{Timeout: 5 * time.Second}}
}

type otlpSpan struct {
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Name         string `json:"name"`
	Kind         int    `json:"kind"`
	Attributes   []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"attributes"`
	Events []struct {
		Name string `json:"name"`
	} `json:"events"`
	Status struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	parent string
}

var kinds = []string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String is one line: name, kind, parent, the order.items attribute,
// events and status, as Jaeger stored them.
func (s otlpSpan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s kind=%s", s.Name, kinds[min(max(s.Kind, 0), len(kinds)-1)])
	if s.parent != "" {
		fmt.Fprintf(&b, " parent=%s", s.parent)
	}
	for _, a := range s.Attributes {
		if a.Key == "order.items" {
			fmt.Fprintf(&b, " order.items=%s", a.Value)
		}
	}
	names := make([]string, 0, len(s.Events))
	for _, e := range s.Events {
		names = append(names, e.Name)
	}
	fmt.Fprintf(&b, " events=%v status=%d", names, s.Status.Code)
	if s.Status.Message != "" {
		fmt.Fprintf(&b, " %q", s.Status.Message)
	}
	return b.String()
}

// trace polls /api/v3/traces/{id} until the trace has n spans (the
// collector batches, so a trace appears a moment after export).
func (c *jaegerClient) trace(ctx context.Context, id trace.TraceID, n int) ([]otlpSpan, error) {
	for {
		spans, err := c.get(ctx, id)
		if err == nil && len(spans) >= n {
			return spans, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("trace %s: %d of %d spans: %w", id, len(spans), n, cmpErr(err, ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (c *jaegerClient) get(ctx context.Context, id trace.TraceID) ([]otlpSpan, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v3/traces/"+id.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Result struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []otlpSpan `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		} `json:"result"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaeger: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var spans []otlpSpan
	byID := map[string]string{}
	for _, rs := range body.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				byID[s.SpanID] = s.Name
				spans = append(spans, s)
			}
		}
	}
	for i := range spans {
		spans[i].parent = byID[spans[i].ParentSpanID]
	}
	// Root first.
	if len(spans) == 2 && spans[0].parent != "" {
		spans[0], spans[1] = spans[1], spans[0]
	}
	return spans, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// follower sends a traced request and finds its trace id in the three
// signals: a log line, an exemplar on the latency histogram, and Jaeger.
type follower struct {
	base, jaeger string
	tp           *sdktrace.TracerProvider
	prop         propagation.TextMapPropagator
	logs         func() string
}

func (f follower) follow(ctx context.Context, path string) (string, error) {
	ctx, span := f.tp.Tracer("client").Start(ctx, "client")
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(f.tp), otelhttp.WithPropagators(f.prop))}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+path, nil)
	if err != nil {
		span.End()
		return "", fmt.Errorf("request: %w", err)
	}
	resp, err := client.Do(req)
	span.End()
	if err != nil {
		return "", fmt.Errorf("get %s: %w", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := span.SpanContext().TraceID().String()

	inLog := strings.Contains(f.logs(), `"trace_id":"`+id+`"`)
	metrics, err := f.get(ctx, f.base+"/metrics", "application/openmetrics-text;version=1.0.0")
	if err != nil {
		return "", err
	}
	exemplar := false
	for line := range strings.Lines(string(metrics)) {
		if strings.HasPrefix(line, "http_server_request_duration_seconds_bucket{") &&
			strings.Contains(line, `trace_id="`+id+`"`) {
			exemplar = true
		}
	}
	// The batcher exports later; flush so the trace is in Jaeger now.
	if err := f.tp.ForceFlush(ctx); err != nil {
		return "", fmt.Errorf("flush: %w", err)
	}
	server, err := f.serverSpan(ctx, span.SpanContext().TraceID())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("follow GET %s %d: log line %t, exemplar %t, Jaeger server span %q",
		path, resp.StatusCode, inLog, exemplar, server), nil
}

// serverSpan polls Jaeger's /api/v3/traces/{id} for the trace's server span.
func (f follower) serverSpan(ctx context.Context, id trace.TraceID) (string, error) {
	for {
		body, err := f.get(ctx, f.jaeger+"/api/v3/traces/"+id.String(), "")
		if err == nil {
			var t struct {
				Result struct {
					ResourceSpans []struct {
						ScopeSpans []struct {
							Spans []struct {
								Name string `json:"name"`
								Kind int    `json:"kind"`
							} `json:"spans"`
						} `json:"scopeSpans"`
					} `json:"resourceSpans"`
				} `json:"result"`
			}
			if err := json.Unmarshal(body, &t); err != nil {
				return "", fmt.Errorf("jaeger: %w", err)
			}
			for _, rs := range t.Result.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						if s.Kind == int(trace.SpanKindServer) {
							return s.Name, nil
						}
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("jaeger: trace %s not found: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (f follower) get(ctx context.Context, url, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s", req.URL.Path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// schema is the part of an OpenAPI v2 schema the check needs.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties any                `json:"additionalProperties"`
}

type openAPIDoc struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"responses"`
	} `json:"paths"`
	Definitions map[string]*schema `json:"definitions"`
}

// TestResponsesMatchTheOpenAPIDocument reads the document the gateway
// serves and checks every field of real responses against it: a name the
// document does not describe (price_cents where it says priceCents) or a
// type it does not promise fails.
func TestResponsesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	status, body := call(t, "GET", base+"/openapi.json", "")
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil || status != 200 {
		t.Fatalf("openapi.json: %d %v", status, err)
	}
	tests := []struct {
		method, path, body string
		route, response    string // where the document describes the answer
	}{
		{"GET", "/v1/products/HW-042", "", "/v1/products/{sku}", "200"},
		{"GET", "/v1/products/HW-042?readMask=name", "", "/v1/products/{sku}", "200"},
		{"GET", "/v1/products", "", "/v1/products", "200"},
		{"POST", "/v1/products", `{"sku":"TEA-9","name":"Tea","priceCents":5,"category":"CATEGORY_FOOD"}`, "/v1/products", "200"},
		{"POST", "/v1/products", `{"sku":"x"}`, "/v1/products", "default"},
		{"GET", "/v1/products/BOOK-999", "", "/v1/products/{sku}", "default"},
	}
	for _, tt := range tests {
		op, ok := doc.Paths[tt.route][strings.ToLower(tt.method)]
		if !ok {
			t.Fatalf("the document has no %s %s", tt.method, tt.route)
		}
		req, err := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if (res.StatusCode == http.StatusOK) != (tt.response == "200") {
			t.Errorf("%s %s: status %d, want the %s response", tt.method, tt.path, res.StatusCode, tt.response)
		}
		// A server stream sends one JSON object per line: decode them all.
		dec := json.NewDecoder(res.Body)
		for n := 0; ; n++ {
			var v any
			if err := dec.Decode(&v); errors.Is(err, io.EOF) && n > 0 {
				break
			} else if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			for _, e := range conform(doc, op.Responses[tt.response].Schema, v, "") {
				t.Errorf("%s %s: %s", tt.method, tt.path, e)
			}
		}
		res.Body.Close()
	}
}

// conform lists where v departs from s.
func conform(doc openAPIDoc, s *schema, v any, at string) []string {
	if s == nil {
		return []string{at + ": no schema"}
	}
	if s.Ref != "" {
		return conform(doc, doc.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")], v, at)
	}
	var errs []string
	switch v := v.(type) {
	case map[string]any:
		if s.Type != "object" && s.Properties == nil {
			return []string{fmt.Sprintf("%s: object where the document says %s", at, s.Type)}
		}
		for k, val := range v {
			p, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties == nil {
					errs = append(errs, fmt.Sprintf("%s.%s: not in the document", at, k))
				}
				continue
			}
			errs = append(errs, conform(doc, p, val, at+"."+k)...)
		}
	case []any:
		if s.Type != "array" {
			return []string{fmt.Sprintf("%s: array where the document says %s", at, s.Type)}
		}
		for i, item := range v {
			errs = append(errs, conform(doc, s.Items, item, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case string:
		if s.Type != "string" {
			errs = append(errs, fmt.Sprintf("%s: string where the document says %s", at, s.Type))
		}
	case float64:
		if s.Type != "integer" && s.Type != "number" {
			errs = append(errs, fmt.Sprintf("%s: number where the document says %s", at, s.Type))
		}
	case bool:
		if s.Type != "boolean" {
			errs = append(errs, fmt.Sprintf("%s: boolean where the document says %s", at, s.Type))
		}
	case nil:
		errs = append(errs, at+": null")
	}
	return errs
}

// stuck is a backend whose GetProduct never answers on its own.
type stuck struct {
	inventoryv1.UnimplementedInventoryServiceServer
}

func (stuck) GetProduct(ctx context.Context, _ *inventoryv1.GetProductRequest) (*inventoryv1.GetProductResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// serveBackend serves srv's services on a loopback port and returns a
// gateway in front of it with the given backend deadline.
func serveBackend(t *testing.T, srv *grpc.Server, backendTimeout time.Duration) string {
	t.Helper()
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := newHandler(ctx, conn, backendTimeout)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		conn.Close()
		srv.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return hs.URL
}

// TestBackendDeadline: a hung backend costs the client the gateway's
// deadline, not for ever, and a client's Grpc-Timeout cannot lift it.
func TestBackendDeadline(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	inventoryv1.RegisterInventoryServiceServer(srv, stuck{})
	base := serveBackend(t, srv, 100*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/products/HW-042", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Grpc-Timeout", "1H")
	res, err := http.DefaultClient.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("no answer within 10 s: the call to the backend has no deadline")
	} else if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("status %d, want 504", res.StatusCode)
	}
}

// TestHealthzAsksTheBackend: /healthz is the backend's gRPC health.
func TestHealthzAsksTheBackend(t *testing.T) {
	t.Parallel()
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	base := serveBackend(t, srv, time.Second)
	if status, body := call(t, "GET", base+"/healthz", ""); status != 200 || body != `{"status":"SERVING"}` {
		t.Errorf("healthz of a serving backend: %d %s", status, body)
	}
	hs.Shutdown() // NOT_SERVING, as during a graceful stop
	if status, _ := call(t, "GET", base+"/healthz", ""); status != http.StatusServiceUnavailable {
		t.Errorf("healthz of a stopping backend: %d, want 503", status)
	}
}

// TestRequestIDTravelsBothWays: X-Request-Id reaches the backend as
// x-request-id metadata (the inventory server echoes it), and the echo
// comes back as X-Request-Id; gRPC's own metadata stays out of the answer.
func TestRequestIDTravelsBothWays(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/products/BOOK-001", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "req-7")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got != "req-7" {
		t.Errorf("X-Request-Id = %q, want the backend's echo req-7 (headers %v)", got, res.Header)
	}
	for k := range res.Header {
		if strings.HasPrefix(k, "Grpc-Metadata-") {
			t.Errorf("internal metadata %s in the response", k)
		}
	}
}

// TestHTTPServerTimeouts: every phase of a connection is bounded, and a
// response may take as long as the backend call behind it.
func TestHTTPServerTimeouts(t *testing.T) {
	t.Parallel()
	s := newHTTPServer(http.NotFoundHandler(), 5*time.Second)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s unset: a slow client holds the connection for ever", name)
		}
	}
	if s.WriteTimeout <= 5*time.Second {
		t.Errorf("WriteTimeout %v cuts answers the backend may still give", s.WriteTimeout)
	}
}

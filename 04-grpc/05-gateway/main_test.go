package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
	"github.com/go-course/part4-infrastructure/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunDemo(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-demo", "-addr", "127.0.0.1:0"}, noEnv, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"unknown_flag": {[]string{"-port", "1"}, "flag provided but not defined: -port"},
		"bad_address": {[]string{"-addr", "no-port", "-grpc-target", "127.0.0.1:1"},
			"listen: listen tcp: address no-port: missing port"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), tt.args, noEnv, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run %v: %v, want an error containing %q", tt.args, err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("served despite bad flags: %q", out.String())
			}
		})
	}
	if err := run(t.Context(), []string{"-help"}, noEnv, io.Discard); err != nil {
		t.Errorf("run -help: %v, want usage only, no error", err)
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 []string
	}{
		{"get_product", "GET", "/v1/products/BOOK-001", "", 200,
			[]string{`"sku":"BOOK-001"`, `"priceCents":"3999"`, `"category":"CATEGORY_BOOKS"`}},
		{"get_with_read_mask", "GET", "/v1/products/BOOK-001?read_mask=stock", "", 200,
			[]string{`"stock":12`, `"name":""`}},
		{"zero_values_are_sent", "POST", "/v1/products",
			`{"sku":"ZERO-1","name":"none left","priceCents":1,"category":"CATEGORY_BOOKS"}`, 200,
			[]string{`"stock":0`}},
		{"list_is_one_object_per_line", "GET", "/v1/products?limit=2", "", 200,
			[]string{`{"result":{"product":{"sku":"BOOK-001"`, ` {"result":{"product":{"sku":"FOOD-007"`}},
		{"create_conflict_is_409", "POST", "/v1/products",
			`{"sku":"HW-042","name":"dup","priceCents":1,"category":"CATEGORY_HARDWARE"}`, 409,
			[]string{`"message":"product HW-042 already exists"`}},
		{"malformed_json_is_400", "POST", "/v1/products", `{"sku":`, 400,
			[]string{`"code":3`, `unexpected EOF`}},
		{"wrong_type_names_the_field", "POST", "/v1/products", `{"sku":"A-1","stock":"many"}`, 400,
			[]string{`field stock`}},
		{"unknown_field_is_400", "POST", "/v1/products", `{"sku":"A-1","colour":"red"}`, 400,
			[]string{`unknown field \"colour\"`}},
		{"invalid_field_names_the_field", "POST", "/v1/products",
			`{"sku":"x","name":"n","priceCents":1,"category":"CATEGORY_BOOKS"}`, 400,
			[]string{`product.sku: must be`, `"field":"product.sku"`}},
		{"invalid_query_names_the_field", "GET", "/v1/products?limit=5000", "", 400,
			[]string{`{"error":{"code":3`, `limit: must be between 0 and 1000`}},
		{"negative_limit_is_400", "GET", "/v1/products?limit=-1", "", 400,
			[]string{`limit: must be between 0 and 1000, got -1`}},
		{"unknown_query_parameter_is_400", "GET", "/v1/products?page_size=-1", "", 400,
			[]string{`unknown query parameter \"page_size\"`}},
		{"unknown_query_parameter_on_a_path_route_is_400", "GET", "/v1/products/BOOK-001?fields=name", "", 400,
			[]string{`unknown query parameter \"fields\"`}},
		{"unknown_enum_in_query_is_400", "GET", "/v1/products?category=CATEGORY_TOYS", "", 400,
			[]string{`CATEGORY_TOYS`}},
		{"oversized_body_is_413", "POST", "/v1/products",
			`{"sku":"BIG-1","name":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413,
			[]string{`"code":8`, `request body over 65536 bytes`}},
		{"not_found_is_404", "GET", "/v1/products/BOOK-999", "", 404,
			[]string{`"message":"product BOOK-999 not found"`}},
		{"unknown_route_is_404", "GET", "/v2/products", "", 404, []string{`"message":"Not Found"`}},
		{"openapi_document", "GET", "/openapi.json", "", 200,
			[]string{`"swagger": "2.0"`, `"/v1/products/{sku}"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := call(t, tt.method, base+tt.path, tt.body)
			if status != tt.status {
				t.Errorf("status = %d, want %d; body %s", status, tt.status, body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body %s\ndoes not contain %s", body, c)
				}
			}
		})
	}
}

// TestCreateThenGet checks the effect behind the 200: the product is
// stored, and a rejected request stores nothing.
func TestCreateThenGet(t *testing.T) {
	t.Parallel()
	base := startGateway(t)
	if status, body := call(t, "POST", base+"/v1/products",
		`{"sku":"TEA-100","name":"Green tea","priceCents":650,"category":"CATEGORY_FOOD","description":""}`); status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	status, body := call(t, "GET", base+"/v1/products/TEA-100", "")
	var got struct {
		Product struct {
			Name        string  `json:"name"`
			Description *string `json:"description"`
		} `json:"product"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 {
		t.Fatalf("get: %d %s (%v)", status, body, err)
	}
	if got.Product.Name != "Green tea" || got.Product.Description == nil {
		t.Errorf("stored product %s: want the name and the explicitly empty description", body)
	}

	if status, _ := call(t, "POST", base+"/v1/products", `{"sku":"TEA-200","priceCents":-1}`); status != 400 {
		t.Fatalf("invalid create: %d", status)
	}
	if status, _ := call(t, "GET", base+"/v1/products/TEA-200", ""); status != 404 {
		t.Errorf("a rejected product was stored: GET returned %d", status)
	}
}

func noEnv(string) string { return "" }

// startGateway serves the inventory service over real TCP and the gateway
// over real HTTP in front of it.
func startGateway(t *testing.T) string {
	t.Helper()
	base, _ := startGatewayTB(t)
	return base
}

func startGatewayTB(t testing.TB) (base, grpcAddr string) {
	t.Helper()
	lis, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv, inventory.NewServer(time.Now, inventory.Catalog(at)...))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := newHandler(ctx, conn, 5*time.Second)
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
	return hs.URL, lis.Addr().String()
}

func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range bytes.Lines(raw) {
		var buf bytes.Buffer
		if json.Compact(&buf, line) != nil {
			lines = append(lines, string(line))
			continue
		}
		lines = append(lines, buf.String())
	}
	return res.StatusCode, strings.ReplaceAll(strings.Join(lines, " "), "\u00a0", " ")
}

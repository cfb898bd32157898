package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunDemo(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-demo", "-addr", "127.0.0.1:0"}, noEnv, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := []string{
		`REST gateway on http://ADDR -> gRPC ADDR`,
		`GET /v1/products/HW-042?read_mask=name,stock -> 200 {"product":{"name":"USB-C cable","stock":150}}`,
		`GET /v1/products?category=CATEGORY_BOOKS -> 200 {"result":{"product":{"sku":"BOOK-001","name":"The Go Programming Language","price_cents":"3999","category":"CATEGORY_BOOKS","stock":12,"updated_at":"2026-01-15T09:30:00Z","restock_lead_time":"259200s","supplier":"Addison-Wesley"}}}`,
		`POST /v1/products -> 200 {"product":{"sku":"TEA-100","name":"Green tea","price_cents":"650","category":"CATEGORY_FOOD","updated_at":"2026-01-15T09:30:00Z"}}`,
		`POST /v1/products -> 400 {"code":3,"message":"unexpected EOF"}`,
		`POST /v1/products -> 400 {"code":3,"message":"proto: (line 1:32): invalid value for int64 field priceCents: \"cheap\""}`,
		`POST /v1/products -> 400 {"code":3,"message":"proto: (line 1:18): unknown field \"colour\""}`,
		`POST /v1/products -> 400 {"code":3,"message":"invalid request: product.price_cents: must be positive","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{"field":"product.price_cents","description":"must be positive"}]}]}`,
		`GET /v1/products/BOOK-999 -> 404 {"code":5,"message":"product BOOK-999 not found"}`,
		`GET /v1/warehouses -> 404 {"code":5,"message":"Not Found"}`,
		`GET /openapi.json -> 200 swagger 2.0, 2 paths`,
	}
	got := strings.Split(strings.TrimSpace(regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(out.String(), "ADDR")), "\n")
	if !slices.Equal(got, want) {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"unknown_flag": {[]string{"-port", "1"}, "flag provided but not defined: -port"},
		"bad_address": {[]string{"-addr", "no-port", "-grpc-addr", "127.0.0.1:1"},
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
			[]string{`"sku":"BOOK-001"`, `"price_cents":"3999"`, `"category":"CATEGORY_BOOKS"`}},
		{"get_with_read_mask", "GET", "/v1/products/BOOK-001?read_mask=stock", "", 200,
			[]string{`{"product":{"stock":12}}`}},
		{"list_is_one_object_per_line", "GET", "/v1/products?limit=2", "", 200,
			[]string{`{"result":{"product":{"sku":"BOOK-001"`, ` {"result":{"product":{"sku":"FOOD-007"`}},
		{"create_conflict_is_409", "POST", "/v1/products",
			`{"sku":"HW-042","name":"dup","price_cents":1,"category":"CATEGORY_HARDWARE"}`, 409,
			[]string{`"message":"product HW-042 already exists"`}},
		{"malformed_json_is_400", "POST", "/v1/products", `{"sku":`, 400,
			[]string{`"code":3`, `unexpected EOF`}},
		{"wrong_type_names_the_field", "POST", "/v1/products", `{"sku":"A-1","stock":"many"}`, 400,
			[]string{`field stock`}},
		{"unknown_field_is_400", "POST", "/v1/products", `{"sku":"A-1","colour":"red"}`, 400,
			[]string{`unknown field \"colour\"`}},
		{"invalid_field_names_the_field", "POST", "/v1/products",
			`{"sku":"x","name":"n","price_cents":1,"category":"CATEGORY_BOOKS"}`, 400,
			[]string{`product.sku: must be`, `"field":"product.sku"`}},
		{"invalid_query_names_the_field", "GET", "/v1/products?limit=5000", "", 400,
			[]string{`{"error":{"code":3`, `limit: must be between 0 and 1000`}},
		{"unknown_enum_in_query_is_400", "GET", "/v1/products?category=CATEGORY_TOYS", "", 400,
			[]string{`CATEGORY_TOYS`}},
		{"oversized_body_is_400", "POST", "/v1/products",
			`{"sku":"BIG-1","name":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 400,
			[]string{`request body too large`}},
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
		`{"sku":"TEA-100","name":"Green tea","price_cents":650,"category":"CATEGORY_FOOD","description":""}`); status != 200 {
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

	if status, _ := call(t, "POST", base+"/v1/products", `{"sku":"TEA-200","price_cents":-1}`); status != 400 {
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
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := newHandler(ctx, conn)
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

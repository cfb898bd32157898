package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := []string{
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=OK`,
		`reader GetProduct BOOK-001: ok "The Go Programming Language"`,
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=Unauthenticated grpc.error="rpc error: code = Unauthenticated desc = Request unauthenticated with bearer"`,
		`anonymous GetProduct BOOK-001: Unauthenticated: Request unauthenticated with bearer`,
		`level=WARN msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=CreateProduct grpc.method_type=unary grpc.code=PermissionDenied grpc.error="rpc error: code = PermissionDenied desc = role reader may not call /inventory.v1.InventoryService/CreateProduct"`,
		`reader CreateProduct TEA-100: PermissionDenied: role reader may not call /inventory.v1.InventoryService/CreateProduct`,
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=CreateProduct grpc.method_type=unary grpc.code=OK`,
		`admin CreateProduct TEA-100: ok "Green tea 100g"`,
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=InvalidArgument grpc.error="rpc error: code = InvalidArgument desc = invalid request: sku: must be 3-32 characters of A-Z, 0-9 and '-', got \"tea\""`,
		`reader GetProduct tea: InvalidArgument: invalid request: sku: must be 3-32 characters of A-Z, 0-9 and '-', got "tea"`,
		`level=ERROR msg="panic recovered" panic="price list missing for PANIC-1"`,
		`level=ERROR msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=Internal grpc.error="rpc error: code = Internal desc = internal error"`,
		`reader GetProduct PANIC-1: Internal: internal error`,
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=OK`,
		`reader GetProduct BOOK-001: ok "The Go Programming Language"`,
		`level=WARN msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=Unavailable grpc.error="rpc error: code = Unavailable desc = replica overloaded"`,
		`level=WARN msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=Unavailable grpc.error="rpc error: code = Unavailable desc = replica overloaded"`,
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=GetProduct grpc.method_type=unary grpc.code=OK`,
		`reader GetProduct HW-042: ok "USB-C cable"`,
		`level=INFO msg="finished call" grpc.service=inventory.v1.InventoryService grpc.method=ListProducts grpc.method_type=server_stream grpc.code=OK`,
		`reader ListProducts: 4 products`,
		`HW-042 attempts seen by the server: 3`,
		`trace of the first call: client inventory.v1.InventoryService/GetProduct, server inventory.v1.InventoryService/GetProduct`,
		`grpc_server_handled_total{grpc_method="CreateProduct",grpc_code="OK"} 1`,
		`grpc_server_handled_total{grpc_method="CreateProduct",grpc_code="PermissionDenied"} 1`,
		`grpc_server_handled_total{grpc_method="GetProduct",grpc_code="Internal"} 1`,
		`grpc_server_handled_total{grpc_method="GetProduct",grpc_code="InvalidArgument"} 1`,
		`grpc_server_handled_total{grpc_method="GetProduct",grpc_code="OK"} 3`,
		`grpc_server_handled_total{grpc_method="GetProduct",grpc_code="Unauthenticated"} 1`,
		`grpc_server_handled_total{grpc_method="GetProduct",grpc_code="Unavailable"} 2`,
		`grpc_server_handled_total{grpc_method="ListProducts",grpc_code="OK"} 1`,
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); !slices.Equal(got, want) {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRunTakesTokensFromEnv: with other tokens configured, the demo's
// calls still authenticate (the client uses the same configuration).
func TestRunTakesTokensFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"INVENTORY_ADMIN_TOKEN": "a-2", "INVENTORY_READER_TOKEN": "r-2"}
	var out bytes.Buffer
	if err := run(t.Context(), func(k string) string { return env[k] }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), `admin CreateProduct TEA-100: ok "Green tea 100g"`) {
		t.Errorf("admin token from env not accepted:\n%s", out.String())
	}
}

func TestStreamChain(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	tokens := tokenAuth{admin: "admin-t", reader: "reader-t"}
	c := func(token string) inventoryv1.InventoryServiceClient { return startChain(t, tokens, &logs, token) }

	tests := []struct {
		name string
		call func(ctx context.Context) error
		code codes.Code
		msg  string
	}{
		{"stream_without_token_is_unauthenticated", func(ctx context.Context) error {
			return drain(c("").ListProducts(ctx, &inventoryv1.ListProductsRequest{}))
		}, codes.Unauthenticated, "bearer"},
		{"stream_with_unknown_token_is_unauthenticated", func(ctx context.Context) error {
			return drain(c("guess").ListProducts(ctx, &inventoryv1.ListProductsRequest{}))
		}, codes.Unauthenticated, "invalid bearer token"},
		{"reader_import_is_permission_denied", func(ctx context.Context) error {
			return importLines(ctx, c("reader-t"), &inventoryv1.ImportStockRequest{Sku: "HW-042", Quantity: 1})
		}, codes.PermissionDenied, "role reader may not call /inventory.v1.InventoryService/ImportStock"},
		{"invalid_stream_message_is_rejected", func(ctx context.Context) error {
			return importLines(ctx, c("admin-t"), &inventoryv1.ImportStockRequest{Sku: "HW-042", Quantity: -5})
		}, codes.InvalidArgument, "quantity: must be between 1 and 100000, got -5"},
		{"invalid_unary_request_is_rejected", func(ctx context.Context) error {
			return drain(c("reader-t").ListProducts(ctx, &inventoryv1.ListProductsRequest{Limit: -1}))
		}, codes.InvalidArgument, "limit: must be between 0 and 1000, got -1"},
		{"admin_import_passes", func(ctx context.Context) error {
			return importLines(ctx, c("admin-t"), &inventoryv1.ImportStockRequest{Sku: "HW-042", Quantity: 5})
		}, codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Errorf("got %v: %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}
}

func TestPanicInHandlerKeepsServerAlive(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	c := startChain(t, tokenAuth{admin: "a", reader: "r"}, &logs, "r")
	for range 3 {
		_, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "PANIC-1"})
		if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Fatalf("panic became %v %q, want Internal without the panic's text", st.Code(), st.Message())
		}
	}
	if _, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "BOOK-001"}); err != nil {
		t.Fatalf("server dead after panics: %v", err)
	}
}

// startChain serves newServer's chain over TCP and returns a client with
// the given token (the log output goes to logs).
func startChain(t *testing.T, tokens tokenAuth, logs io.Writer, token string) inventoryv1.InventoryServiceClient {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	srv, _ := newServer(logger, tokens, grpcprom.NewServerMetrics(), nil)
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	c, closeConn, err := dial(lis.Addr().String(), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeConn)
	return c
}

func drain(s grpc.ServerStreamingClient[inventoryv1.ListProductsResponse], err error) error {
	if err != nil {
		return err
	}
	for {
		if _, err := s.Recv(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func importLines(ctx context.Context, c inventoryv1.InventoryServiceClient, lines ...*inventoryv1.ImportStockRequest) error {
	s, err := c.ImportStock(ctx)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if err := s.Send(l); err != nil {
			break
		}
	}
	_, err = s.CloseAndRecv()
	return err
}

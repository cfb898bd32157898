package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTokens = map[string]string{"INVENTORY_ADMIN_TOKEN": "a-9f2c", "INVENTORY_READER_TOKEN": "r-7d1e"}

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, func(k string) string { return testTokens[k] }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 1, out.String())
	for _, tok := range testTokens {
		if strings.Contains(out.String(), tok) {
			t.Errorf("output holds the token %q", tok)
		}
	}
}

// TestRunRefusesToStartWithoutTokens: no fallback token grants access.
func TestRunRefusesToStartWithoutTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no_tokens", nil, "INVENTORY_ADMIN_TOKEN: required\nINVENTORY_READER_TOKEN: required"},
		{"no_reader_token", map[string]string{"INVENTORY_ADMIN_TOKEN": "a"}, "INVENTORY_READER_TOKEN: required"},
		{"same_token_for_both_roles", map[string]string{"INVENTORY_ADMIN_TOKEN": "a", "INVENTORY_READER_TOKEN": "a"},
			"INVENTORY_READER_TOKEN: must differ from the admin token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), nil, func(k string) string { return tt.env[k] }, &out)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("run = %v, want %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("output before refusing to start:\n%s", out.String())
			}
			if tt.env == nil {
				testkit.CheckReadme(t, 0, "auth: "+err.Error()+"\nexit status 1\n")
			}
		})
	}
}

// TestRunDemoMakesItsOwnTokens: -demo runs without configuration (make
// run-section) and prints the same as with configured tokens; the tokens
// it made never reach the output.
func TestRunDemoMakesItsOwnTokens(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-demo"}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run -demo: %v", err)
	}
	testkit.CheckReadme(t, 1, out.String())
}

// recorder counts the calls that reach it.
type recorder struct {
	inventoryv1.UnimplementedInventoryServiceServer
	handled atomic.Int32
}

func (r *recorder) GetProduct(_ context.Context, req *inventoryv1.GetProductRequest) (*inventoryv1.GetProductResponse, error) {
	r.handled.Add(1)
	return &inventoryv1.GetProductResponse{Product: &inventoryv1.Product{Sku: req.GetSku()}}, nil
}

func (r *recorder) CreateProduct(_ context.Context, req *inventoryv1.CreateProductRequest) (*inventoryv1.CreateProductResponse, error) {
	r.handled.Add(1)
	return &inventoryv1.CreateProductResponse{Product: req.GetProduct()}, nil
}

func (r *recorder) ImportStock(s grpc.ClientStreamingServer[inventoryv1.ImportStockRequest, inventoryv1.ImportStockResponse]) error {
	r.handled.Add(1)
	for {
		if _, err := s.Recv(); errors.Is(err, io.EOF) {
			return s.SendAndClose(&inventoryv1.ImportStockResponse{})
		} else if err != nil {
			return err
		}
	}
}

// purgeService is a method the allow-list has never heard of, as a method
// added to a service later would be.
func purgeService() *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: "test.v1.Admin",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Purge", Handler: func(srv any, ctx context.Context,
			dec func(any) error, icpt grpc.UnaryServerInterceptor,
		) (any, error) {
			in := new(emptypb.Empty)
			if err := dec(in); err != nil {
				return nil, err
			}
			h := func(context.Context, any) (any, error) { return &emptypb.Empty{}, nil }
			return icpt(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/test.v1.Admin/Purge"}, h)
		}}},
	}
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	addr, roots := startAuth(t, func(s *grpc.Server) {
		inventoryv1.RegisterInventoryServiceServer(s, rec)
		s.RegisterService(purgeService(), struct{}{})
	})
	admin, reader := testTokens["INVENTORY_ADMIN_TOKEN"], testTokens["INVENTORY_READER_TOKEN"]
	c := func(token string) inventoryv1.InventoryServiceClient {
		return inventoryv1.NewInventoryServiceClient(connect(t, addr, roots, token))
	}
	purge := func(token string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			return connect(t, addr, roots, token).Invoke(ctx, "/test.v1.Admin/Purge", &emptypb.Empty{}, &emptypb.Empty{})
		}
	}
	imp := func(token string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			s, err := c(token).ImportStock(ctx)
			if err != nil {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		}
	}
	tests := []struct {
		name    string
		call    func(ctx context.Context) error
		code    codes.Code
		msg     string
		handled bool // the call reached the service
	}{
		{"unary_without_token_is_unauthenticated", func(ctx context.Context) error {
			_, err := c("").GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "BOOK-001"})
			return err
		}, codes.Unauthenticated, "bearer", false},
		{"stream_with_unknown_token_is_unauthenticated", imp("guess"), codes.Unauthenticated, "invalid bearer token", false},
		{"reader_create_is_permission_denied", func(ctx context.Context) error {
			_, err := c(reader).CreateProduct(ctx, &inventoryv1.CreateProductRequest{Product: tea()})
			return err
		}, codes.PermissionDenied, "role reader may not call /inventory.v1.InventoryService/CreateProduct", false},
		{"reader_import_is_permission_denied", imp(reader),
			codes.PermissionDenied, "role reader may not call /inventory.v1.InventoryService/ImportStock", false},
		{"method_missing_from_the_allow_list_is_denied_to_reader", purge(reader),
			codes.PermissionDenied, "role reader may not call /test.v1.Admin/Purge", false},
		{"method_missing_from_the_allow_list_is_denied_to_admin", purge(admin),
			codes.PermissionDenied, "role admin may not call /test.v1.Admin/Purge", false},
		{"reader_get_passes", func(ctx context.Context) error {
			_, err := c(reader).GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "BOOK-001"})
			return err
		}, codes.OK, "", true},
		{"admin_import_passes", imp(admin), codes.OK, "", true},
	}
	for _, tt := range tests { // sequential: each reads rec.handled
		t.Run(tt.name, func(t *testing.T) {
			before := rec.handled.Load()
			st := status.Convert(tt.call(t.Context()))
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Errorf("got %v: %q, want %v containing %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
			if handled := rec.handled.Load() != before; handled != tt.handled {
				t.Errorf("call reached the handler: %t, want %t", handled, tt.handled)
			}
		})
	}
}

// TestHealthNeedsNoToken: probes and load balancers carry no token.
func TestHealthNeedsNoToken(t *testing.T) {
	t.Parallel()
	addr, roots := startAuth(t, nil)
	res, err := healthpb.NewHealthClient(connect(t, addr, roots, "")).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check without token = %v, %v; want SERVING", res.GetStatus(), err)
	}
}

// TestTokenNeedsTLS: the per-RPC credentials refuse a plaintext channel,
// and the server speaks only TLS.
func TestTokenNeedsTLS(t *testing.T) {
	t.Parallel()
	addr, _ := startAuth(t, nil)
	_, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearer{"t"}))
	if err == nil || !strings.Contains(err.Error(), "transport level security") {
		t.Errorf("token over plaintext: err = %v, want a transport security error", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("plaintext call to the TLS server: %v, want Unavailable", err)
	}
	if s := (bearer{"t0k3n"}); strings.Contains(s.String()+s.GoString(), "t0k3n") {
		t.Errorf("bearer prints its token")
	}
}

// startAuth serves serverOptions over TLS with the services register adds
// (the example's when nil) and returns the address and the roots a client
// trusts it with.
func startAuth(t *testing.T, register func(*grpc.Server)) (string, *x509.CertPool) {
	t.Helper()
	tokens, err := newTokenAuth(func(k string) string { return testTokens[k] })
	if err != nil {
		t.Fatal(err)
	}
	cert, roots, err := selfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var srv *grpc.Server
	if register == nil {
		srv = newServer(tokens, cert)
	} else {
		srv = grpc.NewServer(serverOptions(tokens, cert)...)
		register(srv)
	}
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
	return lis.Addr().String(), roots
}

// connect dials addr over TLS with token as per-RPC credentials.
func connect(t *testing.T, addr string, roots *x509.CertPool, token string) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(clientTLS(roots))}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token}))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// TestMain fails the package when any goroutine outlives the tests: a
// stream handler that ignores a cancelled client would show up here.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var addrRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func TestRunDemo(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-demo", "-addr", "127.0.0.1:0"}, noEnv, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// TestRunListensOnGRPCListenAddr: the env var names the listen address
// (GRPC_TARGET is what clients dial).
func TestRunListensOnGRPCListenAddr(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	getenv := func(k string) string { return map[string]string{"GRPC_LISTEN_ADDR": "127.0.0.1:0"}[k] }
	if err := run(t.Context(), []string{"-demo"}, getenv, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if addr := addrRE.FindString(out.String()); addr == "" || strings.HasSuffix(addr, ":50051") {
		t.Errorf("listened on %q, want the free port GRPC_LISTEN_ADDR asked for", addr)
	}
}

// TestRunBadAddressIsTheReadmeFailure: the failure the README shows.
func TestRunBadAddressIsTheReadmeFailure(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-addr", "localhost"}, noEnv, &out)
	if err == nil {
		t.Fatal("run with a port-less address succeeded")
	}
	testkit.CheckReadme(t, 1, out.String()+"server: "+err.Error()+"\nexit status 1\n")
}

func TestRunServesUntilCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, noEnv, out) }()

	var addr string
	testkit.Eventually(t, 10*time.Second, func() error {
		if addr = addrRE.FindString(out.String()); addr == "" {
			return fmt.Errorf("no listen address in output %q", out.String())
		}
		return nil
	})
	conn := dial(t, addr)
	res, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", res.GetStatus(), err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.HasSuffix(out.String(), "stopped gracefully\n") {
		t.Errorf("output %q does not end with the graceful stop", out.String())
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		args []string
		want string
	}{
		"unknown_flag":     {[]string{"-port", "1"}, "flag provided but not defined: -port"},
		"bad_address":      {[]string{"-addr", "not-a-host-port"}, "listen: listen tcp: address not-a-host-port: missing port"},
		"bad_stop_timeout": {[]string{"-stop-timeout", "soon"}, `invalid value "soon" for flag -stop-timeout`},
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
}

func TestRunHelpIsNotAFailure(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-help"}, noEnv, &out); err != nil {
		t.Errorf("run -help: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("-help served: %q", out.String())
	}
}

func TestAllFourRPCKindsOverTCP(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startTCP(t)))
	ctx := t.Context()

	// Unary, with metadata both ways.
	var header metadata.MD
	get, err := c.GetProduct(metadata.AppendToOutgoingContext(ctx, "x-request-id", "req-7"),
		&inventoryv1.GetProductRequest{Sku: "HW-042"}, grpc.Header(&header))
	if err != nil {
		t.Fatalf("GetProduct: %v", err)
	}
	if get.GetProduct().GetName() != "USB-C cable" || !slices.Equal(header.Get("x-request-id"), []string{"req-7"}) {
		t.Errorf("GetProduct = %v, header %v", get.GetProduct(), header)
	}

	// Server streaming.
	list, err := c.ListProducts(ctx, &inventoryv1.ListProductsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := recvSKUs(t, list); !slices.Equal(got, []string{"BOOK-001", "FOOD-007", "HW-042"}) {
		t.Errorf("ListProducts = %v", got)
	}

	// Bidirectional: subscribe, then see the client-streaming import land.
	watch, err := c.WatchStock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "FOOD-007"}); err != nil {
		t.Fatal(err)
	}
	if m := recvWatch(t, watch); m.GetStock() != 40 {
		t.Errorf("first level = %d, want 40", m.GetStock())
	}

	imp, err := c.ImportStock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []int32{5, 7} {
		if err := imp.Send(&inventoryv1.ImportStockRequest{Sku: "FOOD-007", Quantity: q}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := imp.CloseAndRecv()
	if err != nil {
		t.Fatalf("ImportStock: %v", err)
	}
	if sum.GetLines() != 2 || sum.GetTotalQuantity() != 12 {
		t.Errorf("ImportStock = %v", sum)
	}
	if m := recvWatch(t, watch); m.GetSku() != "FOOD-007" || m.GetStock() != 52 {
		t.Errorf("level after import = %v, want FOOD-007 52", m)
	}
	if err := watch.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after CloseSend the server ends the stream cleanly; got %v", err)
	}
}

func TestRichErrors(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startTCP(t)))
	tests := []struct {
		name   string
		call   func() error
		code   codes.Code
		fields []string
	}{
		{"rejects_bad_sku", func() error {
			_, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "x"})
			return err
		}, codes.InvalidArgument, []string{"sku"}},
		{"rejects_unknown_mask_path", func() error {
			_, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{
				Sku: "HW-042", ReadMask: &fieldmaskpb.FieldMask{Paths: []string{"weight_grams"}},
			})
			return err
		}, codes.InvalidArgument, []string{"read_mask"}},
		{"names_every_bad_field", func() error {
			_, err := c.CreateProduct(t.Context(), &inventoryv1.CreateProductRequest{
				Product: &inventoryv1.Product{Sku: "NEW-1", PriceCents: -1, Stock: -3},
			})
			return err
		}, codes.InvalidArgument, []string{"product.name", "product.price_cents", "product.category", "product.stock"}},
		{"not_found", func() error {
			_, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "BOOK-999"})
			return err
		}, codes.NotFound, nil},
		{"already_exists", func() error {
			_, err := c.CreateProduct(t.Context(), &inventoryv1.CreateProductRequest{Product: &inventoryv1.Product{
				Sku: "HW-042", Name: "dup", PriceCents: 1, Category: inventoryv1.Category_CATEGORY_HARDWARE,
			}})
			return err
		}, codes.AlreadyExists, nil},
		{"rejects_unknown_category", func() error {
			s, err := c.ListProducts(t.Context(), &inventoryv1.ListProductsRequest{Category: 99})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		}, codes.InvalidArgument, []string{"category"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(tt.call())
			if st.Code() != tt.code {
				t.Fatalf("code = %v (%s), want %v", st.Code(), st.Message(), tt.code)
			}
			if got := violationFields(st); !slices.Equal(got, tt.fields) {
				t.Errorf("field violations = %v, want %v", got, tt.fields)
			}
			for _, f := range tt.fields {
				if !strings.Contains(st.Message(), f+":") {
					t.Errorf("message %q does not name %s", st.Message(), f)
				}
			}
		})
	}

	// The rejected writes changed nothing: the duplicate did not replace
	// HW-042, and the invalid product was not stored.
	res, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "HW-042"})
	if err != nil || res.GetProduct().GetName() != "USB-C cable" || res.GetProduct().GetStock() != 150 {
		t.Errorf("HW-042 after a rejected duplicate = %v, %v; want USB-C cable, stock 150", res.GetProduct(), err)
	}
	if _, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "NEW-1"}); status.Code(err) != codes.NotFound {
		t.Errorf("NEW-1 after a rejected create: %v, want NotFound", err)
	}
}

func TestImportStockBadLineChangesNothing(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startTCP(t)))
	for name, tt := range map[string]struct {
		lines  []*inventoryv1.ImportStockRequest
		code   codes.Code
		msg    string
		fields []string // the same field violations as a unary call's
	}{
		"invalid_quantity": {[]*inventoryv1.ImportStockRequest{{Sku: "HW-042", Quantity: 10}, {Sku: "HW-042", Quantity: 0}},
			codes.InvalidArgument, "line 2: invalid request: quantity: must be between 1 and 100000, got 0", []string{"quantity"}},
		"invalid_sku_and_quantity": {[]*inventoryv1.ImportStockRequest{{Sku: "hw", Quantity: -1}},
			codes.InvalidArgument, "line 1: invalid request: sku: ", []string{"sku", "quantity"}},
		"unknown_sku": {[]*inventoryv1.ImportStockRequest{{Sku: "HW-042", Quantity: 10}, {Sku: "NOPE-1", Quantity: 1}},
			codes.NotFound, "product NOPE-1 not found: nothing imported", nil},
	} {
		t.Run(name, func(t *testing.T) {
			imp, err := c.ImportStock(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.lines {
				if err := imp.Send(l); err != nil {
					break // the server may already have rejected the stream
				}
			}
			_, err = imp.CloseAndRecv()
			st := status.Convert(err)
			if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
				t.Fatalf("ImportStock error = %v, want %v containing %q", err, tt.code, tt.msg)
			}
			if got := violationFields(st); !slices.Equal(got, tt.fields) {
				t.Errorf("field violations = %v, want %v", got, tt.fields)
			}
			if got := stockOf(t, c, "HW-042"); got != 150 {
				t.Errorf("HW-042 stock = %d after a rejected import, want 150", got)
			}
		})
	}
}

func TestMaxRecvMsgSizeRejectsOversizedRequest(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startTCP(t)))
	_, err := c.CreateProduct(t.Context(), &inventoryv1.CreateProductRequest{Product: &inventoryv1.Product{
		Sku: "BIG-1", Name: "big", PriceCents: 1, Category: inventoryv1.Category_CATEGORY_BOOKS,
		Description: proto.String(strings.Repeat("x", maxRecvMsgSize)),
	}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized request: %v, want ResourceExhausted", err)
	}
	if _, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "BIG-1"}); status.Code(err) != codes.NotFound {
		t.Errorf("the oversized product was stored: %v", err)
	}
}

func TestDeadlineReachesHandler(t *testing.T) {
	t.Parallel()
	seen := make(chan bool, 1)
	spy := grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		_, ok := ctx.Deadline()
		seen <- ok
		return h(ctx, req)
	})
	c := inventoryv1.NewInventoryServiceClient(dial(t, startBufconn(t, spy)))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "HW-042"}); err != nil {
		t.Fatal(err)
	}
	if !<-seen {
		t.Error("the handler's context has no deadline: grpc-timeout was not propagated")
	}

	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()
	if _, err := c.GetProduct(expired, &inventoryv1.GetProductRequest{Sku: "HW-042"}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("expired deadline: %v, want DeadlineExceeded", err)
	}
}

func TestClientCancelEndsStreamHandler(t *testing.T) {
	t.Parallel()
	srv, hs, lis := newBufconn()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	c := inventoryv1.NewInventoryServiceClient(dialBufconn(t, lis))

	ctx, cancel := context.WithCancel(t.Context())
	watch, err := c.WatchStock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "HW-042"}); err != nil {
		t.Fatal(err)
	}
	recvWatch(t, watch)
	cancel()
	if _, err := watch.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("Recv after cancel: %v, want Canceled", err)
	}
	// GracefulStop waits for every handler: it returns within the deadline
	// only if the cancelled stream's handler (and its Recv goroutine) ended.
	if err := shutdown(srv, hs, time.Minute); err != nil {
		t.Fatalf("stream handler still running after the client cancelled: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownDeadlineCancelsEndlessStream(t *testing.T) {
	t.Parallel()
	srv, hs, lis := newBufconn()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn := dialBufconn(t, lis)
	c := inventoryv1.NewInventoryServiceClient(conn)
	watch, err := c.WatchStock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "HW-042"}); err != nil {
		t.Fatal(err)
	}
	recvWatch(t, watch)

	err = shutdown(srv, hs, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "remaining RPCs cancelled") {
		t.Fatalf("shutdown = %v, want the deadline error", err)
	}
	if _, err := watch.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("stream after forced stop: %v, want Unavailable", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestShutdownReportsNotServingFirst: while GracefulStop waits for a
// running stream, a load balancer watching health already sees
// NOT_SERVING and stops sending new calls.
func TestShutdownReportsNotServingFirst(t *testing.T) {
	t.Parallel()
	srv, hs, lis := newBufconn()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn := dialBufconn(t, lis)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	health, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := health.Recv(); err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health before shutdown = %v, %v", res.GetStatus(), err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- shutdown(srv, hs, 10*time.Second) }()
	// The health stream itself keeps GracefulStop waiting, so the status
	// can only come from shutdown's first step.
	res, err := health.Recv()
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health during shutdown = %v, %v; want NOT_SERVING", res.GetStatus(), err)
	}
	cancel() // end the stream: GracefulStop can finish
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestMaxConcurrentStreamsQueuesTheExtraCall: with every stream slot of
// a connection taken, one more call waits (here until its deadline)
// instead of running, and runs once a slot frees.
func TestMaxConcurrentStreamsQueuesTheExtraCall(t *testing.T) {
	t.Parallel()
	conn := dial(t, startBufconn(t))
	c := inventoryv1.NewInventoryServiceClient(conn)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first, cancelFirst := context.WithCancel(ctx)
	for i := range maxConcurrentStreams {
		sctx := ctx
		if i == 0 {
			sctx = first
		}
		w, err := c.WatchStock(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Send(&inventoryv1.WatchStockRequest{Sku: "HW-042"}); err != nil {
			t.Fatal(err)
		}
		recvWatch(t, w) // the stream runs on the server
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, err := c.GetProduct(short, &inventoryv1.GetProductRequest{Sku: "HW-042"}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call beyond %d streams: %v, want DeadlineExceeded (queued)", maxConcurrentStreams, err)
	}
	cancelFirst()
	if _, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "HW-042"}); err != nil {
		t.Fatalf("call after a slot freed: %v", err)
	}
}

// TestMaxConnectionAgeMakesClientsReconnect: past its age the server
// sends GOAWAY; the client's channel goes idle and the next call dials a
// new connection (through the balancer, to any server).
func TestMaxConnectionAgeMakesClientsReconnect(t *testing.T) {
	t.Parallel()
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newServer(200 * time.Millisecond)
	serve(t, srv, lis)
	conn := dial(t, lis.Addr().String())
	c := inventoryv1.NewInventoryServiceClient(conn)
	if _, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "HW-042"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if s := conn.GetState(); s != connectivity.Idle {
			return fmt.Errorf("channel %v, want IDLE after GOAWAY", s)
		}
		return nil
	})
	if _, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "HW-042"}); err != nil {
		t.Fatalf("call after reconnect: %v", err)
	}
}

// --- helpers ---

func noEnv(string) string { return "" }

// startTCP serves on a real loopback port and stops the server at cleanup.
func startTCP(t *testing.T, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newServer(time.Hour, opts...)
	serve(t, srv, lis)
	return lis.Addr().String()
}

// startBufconn serves over an in-memory connection: fast, no ports.
func startBufconn(t *testing.T, opts ...grpc.ServerOption) *bufconn.Listener {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv, _ := newServer(time.Hour, opts...)
	serve(t, srv, lis)
	return lis
}

func newBufconn() (*grpc.Server, *health.Server, *bufconn.Listener) {
	srv, hs := newServer(time.Hour)
	return srv, hs, bufconn.Listen(1 << 20)
}

func serve(t *testing.T, srv *grpc.Server, lis net.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}

func dial(t testing.TB, target any) *grpc.ClientConn {
	t.Helper()
	if lis, ok := target.(*bufconn.Listener); ok {
		return dialBufconn(t, lis)
	}
	conn, err := grpc.NewClient(target.(string), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func dialBufconn(t testing.TB, lis *bufconn.Listener) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func recvSKUs(t *testing.T, s grpc.ServerStreamingClient[inventoryv1.ListProductsResponse]) []string {
	t.Helper()
	var skus []string
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return skus
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		skus = append(skus, m.GetProduct().GetSku())
	}
}

func recvWatch(t *testing.T, s grpc.BidiStreamingClient[inventoryv1.WatchStockRequest, inventoryv1.WatchStockResponse]) *inventoryv1.WatchStockResponse {
	t.Helper()
	m, err := s.Recv()
	if err != nil {
		t.Fatalf("watch recv: %v", err)
	}
	return m
}

func stockOf(t *testing.T, c inventoryv1.InventoryServiceClient, sku string) int32 {
	t.Helper()
	res, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: sku})
	if err != nil {
		t.Fatalf("GetProduct %s: %v", sku, err)
	}
	return res.GetProduct().GetStock()
}

func violationFields(st *status.Status) []string {
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

func TestReadMaskSelectsFields(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startBufconn(t)))
	res, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{
		Sku: "BOOK-001", ReadMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "stock"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &inventoryv1.Product{Name: "The Go Programming Language", Stock: 12}
	if !proto.Equal(res.GetProduct(), want) {
		t.Errorf("masked product = %v, want %v", res.GetProduct(), want)
	}
}

func TestWatchSendsProductOnceCreated(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startBufconn(t)))
	watch, err := c.WatchStock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "TEA-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateProduct(t.Context(), &inventoryv1.CreateProductRequest{Product: &inventoryv1.Product{
		Sku: "TEA-1", Name: "tea", PriceCents: 1, Category: inventoryv1.Category_CATEGORY_FOOD, Stock: 7,
	}}); err != nil {
		t.Fatal(err)
	}
	if m := recvWatch(t, watch); m.GetSku() != "TEA-1" || m.GetStock() != 7 {
		t.Errorf("first message = %v, want TEA-1 at 7", m)
	}
}

func TestStreamLimits(t *testing.T) {
	t.Parallel()
	c := inventoryv1.NewInventoryServiceClient(dial(t, startBufconn(t)))

	t.Run("watch_rejects_too_many_skus", func(t *testing.T) {
		watch, err := c.WatchStock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 101 {
			if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: fmt.Sprintf("NONE-%d", i)}); err != nil {
				break
			}
		}
		if _, err := watch.Recv(); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("101 subscriptions: %v, want ResourceExhausted", err)
		}
	})
	t.Run("import_rejects_too_many_lines", func(t *testing.T) {
		imp, err := c.ImportStock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for range 10_001 {
			if err := imp.Send(&inventoryv1.ImportStockRequest{Sku: "FOOD-007", Quantity: 1}); err != nil {
				break
			}
		}
		if _, err := imp.CloseAndRecv(); status.Code(err) != codes.InvalidArgument {
			t.Errorf("10001 lines: %v, want InvalidArgument", err)
		}
		if got := stockOf(t, c, "FOOD-007"); got != 40 {
			t.Errorf("FOOD-007 stock = %d after a rejected import, want 40", got)
		}
	})
	t.Run("import_rejects_stock_overflow", func(t *testing.T) {
		if _, err := c.CreateProduct(t.Context(), &inventoryv1.CreateProductRequest{Product: &inventoryv1.Product{
			Sku: "FULL-1", Name: "full", PriceCents: 1, Category: inventoryv1.Category_CATEGORY_BOOKS,
			Stock: math.MaxInt32 - 10,
		}}); err != nil {
			t.Fatal(err)
		}
		imp, err := c.ImportStock(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := imp.Send(&inventoryv1.ImportStockRequest{Sku: "FULL-1", Quantity: 11}); err != nil {
			t.Fatal(err)
		}
		if _, err := imp.CloseAndRecv(); status.Code(err) != codes.OutOfRange {
			t.Errorf("overflowing import: %v, want OutOfRange", err)
		}
		if got := stockOf(t, c, "FULL-1"); got != math.MaxInt32-10 {
			t.Errorf("FULL-1 stock changed to %d", got)
		}
	})
}

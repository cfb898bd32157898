package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// recorder is a service that does not validate: what reaches it passed
// (or bypassed) the chain.
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
	for {
		_, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&inventoryv1.ImportStockResponse{})
		}
		if err != nil {
			return err
		}
		r.handled.Add(1)
	}
}

// TestValidationRunsBeforeTheHandler serves a service that does not
// validate: only the validation interceptors stand between an invalid
// request and the handler.
func TestValidationRunsBeforeTheHandler(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	addr, _ := startChain(t, nil, func(s *grpc.Server) { inventoryv1.RegisterInventoryServiceServer(s, rec) })
	c := inventoryv1.NewInventoryServiceClient(connect(t, addr))
	tests := []struct {
		name    string
		call    func(ctx context.Context) error
		code    codes.Code
		msg     string
		handled bool // the call reached the service
	}{
		{"invalid_unary_request_never_reaches_the_handler", func(ctx context.Context) error {
			_, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "tea"})
			return err
		}, codes.InvalidArgument, `sku: must be 3-32 characters of A-Z, 0-9 and '-', got "tea"`, false},
		{"invalid_stream_message_never_reaches_the_handler", func(ctx context.Context) error {
			return importLines(ctx, c, &inventoryv1.ImportStockRequest{Sku: "HW-042", Quantity: -5})
		}, codes.InvalidArgument, "quantity: must be between 1 and 100000, got -5", false},
		{"valid_unary_request_passes", func(ctx context.Context) error {
			_, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "BOOK-001"})
			return err
		}, codes.OK, "", true},
		{"valid_stream_passes", func(ctx context.Context) error {
			return importLines(ctx, c, &inventoryv1.ImportStockRequest{Sku: "HW-042", Quantity: 5})
		}, codes.OK, "", true},
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

// TestPanicIsLoggedWithStackAndTraceID: the recovered panic's log line
// carries the stack trace and the trace id of the call's span, and the
// process keeps serving.
func TestPanicIsLoggedWithStackAndTraceID(t *testing.T) {
	t.Parallel()
	spans := &spanLog{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	otelOpts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}
	addr, logs := startChain(t, otelOpts, nil)
	c := inventoryv1.NewInventoryServiceClient(connect(t, addr))
	_, err := c.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "PANIC-1"})
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("panic became %v %q, want Internal without the panic's text", st.Code(), st.Message())
	}
	var traceID trace.TraceID
	testkit.Eventually(t, 5*time.Second, func() error {
		spans.mu.Lock()
		defer spans.mu.Unlock()
		for _, sp := range spans.spans {
			if sp.SpanKind() == trace.SpanKindServer {
				traceID = sp.SpanContext().TraceID()
				return nil
			}
		}
		return errors.New("no server span yet")
	})
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, `msg="panic recovered"`) {
			line = l
		}
	}
	for _, want := range []string{"stack=", "(*demoService).GetProduct", "trace_id=" + traceID.String()} {
		if !strings.Contains(line, want) {
			t.Errorf("panic log line lacks %q:\n%s", want, line)
		}
	}
}

// startChain serves serverOptions' chain with the services register adds
// (the demo's when nil) and returns its address and the log output.
func startChain(t *testing.T, otelOpts []otelgrpc.Option, register func(*grpc.Server)) (string, *testkit.Buffer) {
	t.Helper()
	logs := &testkit.Buffer{}
	logger := slog.New(traceHandler{slog.NewTextHandler(logs, nil)})
	opts := serverOptions(logger, grpcprom.NewServerMetrics(), otelOpts)
	var srv *grpc.Server
	if register == nil {
		srv, _ = newServer(opts)
	} else {
		srv = grpc.NewServer(opts...)
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
	return lis.Addr().String(), logs
}

func connect(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
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

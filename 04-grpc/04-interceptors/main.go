// Command interceptors wraps the inventory service in the server chain a
// production service runs (logging, metrics, recovery, validation,
// tracing) and calls it with retries from the service config. Auth, the
// other interceptor every service needs, is 08-auth.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// retryPolicy retries GetProduct on UNAVAILABLE, up to 3 attempts with
// backoff. Retries live in the service config, not in an interceptor: the
// channel knows whether a request may be replayed.
// https://github.com/grpc/grpc/blob/master/doc/service_config.md
const retryPolicy = `{"methodConfig": [{
  "name": [{"service": "inventory.v1.InventoryService", "method": "GetProduct"}],
  "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interceptors:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, _ func(string) string, stdout io.Writer) error {
	out := &lockedWriter{w: stdout}
	logger := slog.New(traceHandler{slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: dropVolatile})})
	reg := prometheus.NewRegistry()
	// The histogram gives latency percentiles per method; the counters
	// alone give only rates.
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(metrics)
	spans := &spanLog{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // in-memory processor, nothing to flush
	otelOpts := []otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{}),
	}

	srv, svc := newServer(serverOptions(logger, metrics, otelOpts))
	metrics.InitializeMetrics(srv)
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	err = calls(ctx, lis.Addr().String(), otelOpts, out)
	srv.GracefulStop()
	if serr := <-served; serr != nil {
		return errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "HW-042 attempts seen by the server: %d\n", svc.attempts.Load())
	spans.printFirstTrace(out)
	return printMetrics(out, reg)
}

// serverOptions chains the interceptors a production server runs.
func serverOptions(logger *slog.Logger, metrics *grpcprom.ServerMetrics, otelOpts []otelgrpc.Option,
) []grpc.ServerOption {
	// Outermost first: logging and metrics see the final code of every
	// call, recovery turns a panic anywhere below into Internal, validation
	// rejects before the handler. Auth (08-auth) goes between recovery and
	// validation.
	recover := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic recovered", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithDisableLoggingFields(logging.SystemTag[0], logging.ComponentFieldKey),
	}
	return []grpc.ServerOption{
		// Tracing is a stats handler, not an interceptor: it sees every
		// attempt and message, and extracts the caller's trace context.
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelOpts...)),
		grpc.ChainUnaryInterceptor(
			logging.UnaryServerInterceptor(slogAdapter(logger), logOpts...),
			metrics.UnaryServerInterceptor(),
			recovery.UnaryServerInterceptor(recover),
			validateUnary,
		),
		grpc.ChainStreamInterceptor(
			logging.StreamServerInterceptor(slogAdapter(logger), logOpts...),
			metrics.StreamServerInterceptor(),
			recovery.StreamServerInterceptor(recover),
			validateStream,
		),
	}
}

// newServer registers the demo's inventory service.
func newServer(opts []grpc.ServerOption) (*grpc.Server, *demoService) {
	srv := grpc.NewServer(opts...)
	svc := &demoService{Server: inventory.NewServer(time.Now, inventory.Catalog(time.Now())...)}
	svc.failures.Store(2)
	inventoryv1.RegisterInventoryServiceServer(srv, svc)
	return srv, svc
}

// dropVolatile removes the time, durations, the peer's port and the panic's
// stack trace from log lines so the output is reproducible; keep them in a
// real service.
func dropVolatile(_ []string, a slog.Attr) slog.Attr {
	switch a.Key {
	case slog.TimeKey, "grpc.start_time", "grpc.time_ms", "grpc.request.deadline", "peer.address", "stack":
		return slog.Attr{}
	}
	return a
}

// Command server runs the inventory gRPC service the way a production
// service should: message size limit, keepalive, health, reflection, and a
// graceful stop with a deadline.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// maxRecvMsgSize caps one request: a product is a few hundred bytes, so
// 64 KiB is generous, and a bigger message is refused with
// ResourceExhausted before it is decoded (the default is 4 MiB).
const maxRecvMsgSize = 64 << 10

// maxConcurrentStreams caps the RPCs one connection runs at once (the
// default is unlimited, so one client could hold every handler goroutine).
const maxConcurrentStreams = 100

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", cmp.Or(getenv("GRPC_LISTEN_ADDR"), "localhost:50051"), "listen address")
	demo := fs.Bool("demo", false, "serve, call the server once as a client would, then stop")
	stopTimeout := fs.Duration("stop-timeout", 10*time.Second, "graceful stop deadline")
	maxAge := fs.Duration("max-connection-age", 5*time.Minute, "close connections this old so clients rebalance")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage: not a failure
		}
		return err
	}

	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv, hs := newServer(*maxAge)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	fmt.Fprintf(stdout, "serving inventory.v1.InventoryService on %s\n", lis.Addr())

	if *demo {
		err = callOnce(ctx, lis.Addr().String(), stdout)
	} else {
		select {
		case err = <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
	}
	if serr := shutdown(srv, hs, *stopTimeout); serr != nil {
		return errors.Join(err, serr)
	}
	// Serve returns nil after GracefulStop or Stop.
	if serr := <-serveErr; serr != nil {
		return errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	fmt.Fprintln(stdout, "stopped gracefully")
	return err
}

// newServer builds the server with its production options and services.
func newServer(maxAge time.Duration, opts ...grpc.ServerOption) (*grpc.Server, *health.Server) {
	opts = append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxRecvMsgSize),
		// One client may hold at most 100 concurrent streams per connection;
		// more wait for a free slot instead of exhausting the server.
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		// Close idle connections after 5 minutes, and ping a silent client
		// after 1 minute so dead peers behind NAT are noticed (20 s to answer).
		// HTTP/2 connections live for ever, so behind a load balancer new
		// servers get no traffic: MaxConnectionAge sends GOAWAY after maxAge
		// (the client reconnects, possibly elsewhere) and gives running RPCs
		// 30 s of grace before the connection closes.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     5 * time.Minute,
			MaxConnectionAge:      maxAge,
			MaxConnectionAgeGrace: 30 * time.Second,
			Time:                  time.Minute,
			Timeout:               20 * time.Second,
		}),
		// Clients may ping every 30 s at most, even without active RPCs;
		// faster pingers get GOAWAY "too_many_pings".
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             30 * time.Second,
			PermitWithoutStream: true,
		}),
	}, opts...)
	srv := grpc.NewServer(opts...)
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv,
		inventory.NewServer(time.Now, inventory.Catalog(at)...))

	// The standard health service: load balancers and Kubernetes probes
	// ask it, per service name or "" for the whole server.
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	hs.SetServingStatus(inventoryv1.InventoryService_ServiceDesc.ServiceName,
		healthpb.HealthCheckResponse_SERVING)
	// Reflection lets grpcurl and other tools discover the API without the
	// .proto files. Expose it only where the API is not a secret.
	reflection.Register(srv)
	return srv, hs
}

// shutdown reports NOT_SERVING first so balancers stop sending new calls,
// then lets running RPCs finish. Streams can run forever, so the graceful
// stop has a deadline after which connections are closed.
func shutdown(srv *grpc.Server, hs *health.Server, timeout time.Duration) error {
	hs.Shutdown()
	done := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		srv.Stop() // cancels the remaining RPCs; GracefulStop then returns
		<-done
		return fmt.Errorf("graceful stop took longer than %s: remaining RPCs cancelled", timeout)
	}
}

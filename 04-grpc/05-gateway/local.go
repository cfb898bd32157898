package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// startGRPC serves the inventory service on a free loopback port so the
// example runs on its own; -grpc-target points the gateway at 02-server.
// It serves the health service too, which /healthz asks.
func startGRPC(ctx context.Context) (addr string, stop func(), err error) {
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := grpc.NewServer()
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv,
		inventory.NewServer(func() time.Time { return at }, inventory.Catalog(at)...))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis) // returns nil after GracefulStop
	}()
	return lis.Addr().String(), func() {
		// GracefulStop waits for running calls; Stop ends what is left.
		force := time.AfterFunc(5*time.Second, srv.Stop)
		defer force.Stop()
		srv.GracefulStop()
		<-done
	}, nil
}

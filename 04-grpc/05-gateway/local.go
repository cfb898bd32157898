package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// startGRPC serves the inventory service on a free loopback port so the
// example runs on its own; -grpc-addr points the gateway at 02-server.
func startGRPC(ctx context.Context) (addr string, stop func(), err error) {
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := grpc.NewServer()
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv,
		inventory.NewServer(func() time.Time { return at }, inventory.Catalog(at)...))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis) // returns nil after GracefulStop
	}()
	return lis.Addr().String(), func() { srv.GracefulStop(); <-done }, nil
}

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

// startLocal serves the inventory service on a free loopback port so the
// example runs on its own; -target or GRPC_TARGET point it at 02-server
// instead. stop waits for running RPCs, at most stopTimeout.
func startLocal(ctx context.Context, stopTimeout time.Duration) (addr string, stop func(), err error) {
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := grpc.NewServer()
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv, inventory.NewServer(time.Now, inventory.Catalog(at)...))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis) // returns nil after GracefulStop
	}()
	return lis.Addr().String(), func() {
		// GracefulStop waits for every handler, and a stream nobody ends
		// would keep it waiting for ever: Stop cancels what is left.
		force := time.AfterFunc(stopTimeout, srv.Stop)
		defer force.Stop()
		srv.GracefulStop()
		<-done
	}, nil
}

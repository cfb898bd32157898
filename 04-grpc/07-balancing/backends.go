package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// backend is one replica: a server on its own port that counts the calls
// it handles and the connections it accepts.
type backend struct {
	name, addr string
	srv        *grpc.Server
	calls      atomic.Int64
	accepted   atomic.Int64
}

type backends struct {
	list []*backend
	wg   sync.WaitGroup
}

// startBackends serves the inventory on one loopback port per name.
func startBackends(ctx context.Context, names []string, maxAge time.Duration) (*backends, error) {
	bs := &backends{}
	for _, name := range names {
		lis, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			bs.stop()
			return nil, fmt.Errorf("listen: %w", err)
		}
		b := &backend{name: name, addr: lis.Addr().String()}
		b.srv = grpc.NewServer(
			grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionAge: maxAge, MaxConnectionAgeGrace: time.Second}),
			grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				b.calls.Add(1)
				return h(ctx, req)
			}),
		)
		at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
		inventoryv1.RegisterInventoryServiceServer(b.srv, inventory.NewServer(time.Now, inventory.Catalog(at)...))
		bs.list = append(bs.list, b)
		bs.wg.Go(func() { _ = b.srv.Serve(countingListener{lis, &b.accepted}) }) // nil after Stop
	}
	return bs, nil
}

// until calls call, every 10ms, until cond holds for every backend or
// ctx ends.
func (bs *backends) until(ctx context.Context, call func() error, cond func(*backend) bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, b := range bs.list {
			all = all && cond(b)
		}
		if all {
			return nil
		}
		if err := call(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (bs *backends) reset() {
	for _, b := range bs.list {
		b.calls.Store(0)
	}
}

func (bs *backends) print(w io.Writer, what string) {
	fmt.Fprintf(w, "%s:", what)
	for _, b := range bs.list {
		fmt.Fprintf(w, " %s=%d", b.name, b.calls.Load())
	}
	fmt.Fprintln(w)
}

func (bs *backends) stop() {
	for _, b := range bs.list {
		b.srv.Stop()
	}
	bs.wg.Wait()
}

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

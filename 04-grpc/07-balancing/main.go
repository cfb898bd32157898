// Command balancing spreads calls over three servers with the client-side
// round_robin balancer, fed by a resolver, and shows the clients
// reconnecting when the servers close connections at MaxConnectionAge.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// roundRobin replaces the default pick_first, which sends every call over
// one connection to the first address that answers.
// https://github.com/grpc/grpc/blob/master/doc/load-balancing.md
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "balancing:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, _ func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Three replicas; each closes a connection after maxAge (GOAWAY), as
	// 02-server does after 5 minutes, so clients reconnect and rebalance.
	// Each batch of calls below runs on connections younger than that.
	const maxAge = 2 * time.Second
	backends, err := startBackends(ctx, []string{"a", "b", "c"}, maxAge)
	if err != nil {
		return err
	}
	defer backends.stop()

	// A resolver turns a name into addresses. manual is the in-process one;
	// "dns:///inventory.internal:50051" does the same from DNS records (a
	// Kubernetes headless service gives one per pod).
	r := manual.NewBuilderWithScheme("inventory")
	var addrs []resolver.Address
	for _, b := range backends.list {
		addrs = append(addrs, resolver.Address{Addr: b.addr})
	}
	r.InitialState(resolver.State{Addresses: addrs})
	conn, err := grpc.NewClient(r.Scheme()+":///inventory",
		grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(roundRobin),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer conn.Close()
	c := inventoryv1.NewInventoryServiceClient(conn)

	// WaitForReady: while a connection is being re-established a call
	// waits for it (within its deadline) instead of failing Unavailable.
	call := func() error {
		_, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "BOOK-001"}, grpc.WaitForReady(true))
		return err
	}
	// round_robin connects to every address; until all three are READY the
	// picker uses those that are. Warm up so the counts below are exact.
	if err := backends.until(ctx, call, func(b *backend) bool { return b.calls.Load() > 0 }); err != nil {
		return fmt.Errorf("warm up: %w", err)
	}
	backends.reset()
	for range 30 {
		if err := call(); err != nil {
			return fmt.Errorf("call: %w", err)
		}
	}
	backends.print(stdout, "30 calls")

	// Each server closes its first connection at maxAge; the channel
	// reconnects and calls go on over the new connections.
	err = backends.until(ctx, call, func(b *backend) bool { return b.accepted.Load() >= 2 })
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("no reconnect: did the servers set MaxConnectionAge?")
	} else if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "after MaxConnectionAge: every server accepted a new connection")
	backends.reset()
	for range 30 {
		if err := call(); err != nil {
			return fmt.Errorf("call after reconnect: %w", err)
		}
	}
	backends.print(stdout, "30 more calls")
	return nil
}

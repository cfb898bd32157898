// Command client calls every RPC kind of the inventory service and handles
// what a production client must: deadlines, metadata, rich errors, and
// cancelling a stream it no longer needs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// callTimeout bounds every call; the deadline travels to the server in the
// grpc-timeout header, so the server stops working when the client gave up.
const callTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	addr := fs.String("target", getenv("GRPC_TARGET"), "server to dial; empty starts one in process")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage: not a failure
		}
		return err
	}
	if *addr == "" {
		local, stop, err := startLocal(ctx, 5*time.Second)
		if err != nil {
			return err
		}
		defer stop()
		*addr = local
	}

	// NewClient does not connect: the first RPC does, and fails with
	// Unavailable if the server cannot be reached.
	conn, err := grpc.NewClient(*addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Ping an idle connection every minute (the server allows 30 s).
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: time.Minute, Timeout: 20 * time.Second, PermitWithoutStream: true,
		}))
	if err != nil {
		return fmt.Errorf("client for %s: %w", *addr, err)
	}
	defer conn.Close()
	c := inventoryv1.NewInventoryServiceClient(conn)

	for _, step := range []func(context.Context, inventoryv1.InventoryServiceClient, io.Writer) error{
		unary, richError, serverStream, cancelStream, watchAndImport, watchDeadline,
	} {
		if err := step(ctx, c, stdout); err != nil {
			return err
		}
	}
	return nil
}

// Command 05-nats-core shows core NATS: fire-and-forget publish/subscribe,
// queue groups that share work, request/reply with its two failures (a
// timeout, no responders), and Drain, which lets in-flight messages finish
// before the connection closes.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nats-core:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("05-nats-core", flag.ContinueOnError)
	p := fs.String("prefix", "demo", "subject prefix (core NATS is shared: keep demos apart)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	logf := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	nc, closed, err := Connect(cmp.Or(getenv("NATS_URL"), "nats://localhost:4222"), "05-nats-core", logf)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.FlushWithContext(ctx); err != nil { // the first round trip: connected?
		return fmt.Errorf("nats: %w", err)
	}

	// At most once: a message nobody subscribes to when it is published is gone.
	if err := nc.Publish(*p+".orders.cancelled", []byte("o-0")); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	got, err := PubSub(ctx, nc, *p+".orders.*", *p+".orders.created", *p+".orders.paid")
	if err != nil {
		return err
	}
	for _, m := range got {
		fmt.Fprintf(stdout, "pub/sub: %s %s\n", m.Subject, m.Data)
	}
	fmt.Fprintf(stdout, "pub/sub: %s.orders.cancelled, published before the subscription: never seen\n", *p)

	queued, plain, err := Share(ctx, nc, *p+".jobs", 100)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "queue group of 2: 100 jobs, %d deliveries (each job once)\n", queued)
	fmt.Fprintf(stdout, "2 plain subscribers: 100 jobs, %d deliveries (each job twice)\n", plain)

	// Request/reply: the reply goes to a one-off inbox; a deadline bounds it.
	lines, err := RequestReply(ctx, nc, *p)
	if err != nil {
		return err
	}
	for _, line := range lines {
		fmt.Fprintln(stdout, line)
	}

	// Drain: unsubscribe at the server, handle what already arrived, close.
	// Close instead would drop the messages still queued in the client.
	var handled atomic.Int64
	if _, err := nc.Subscribe(*p+".events", func(*nats.Msg) {
		time.Sleep(time.Millisecond) // a handler doing some work
		handled.Add(1)
	}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	for i := range 100 {
		if err := nc.Publish(*p+".events", fmt.Append(nil, i)); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := nc.Drain(); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		return fmt.Errorf("drain: %w", ctx.Err())
	}
	fmt.Fprintf(stdout, "drain: %d of 100 queued messages handled, then closed\n", handled.Load())
	return nil
}

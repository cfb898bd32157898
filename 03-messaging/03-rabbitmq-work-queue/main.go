// Command 03-rabbitmq-work-queue shares jobs between workers through a
// durable quorum queue: publisher confirms with many messages in flight,
// mandatory publishing for unroutable messages, prefetch, manual acks,
// nack-requeue of a transient failure and dead-lettering of bad messages.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("03-rabbitmq-work-queue", flag.ContinueOnError)
	queue := fs.String("queue", "jobs", "queue name")
	workers := fs.Int("workers", 2, "concurrent workers, one channel each")
	// Off by default: a copied service that purged its queues at every start
	// would throw away every waiting message on each restart.
	reset := fs.Bool("reset", false, "purge the demo's queues first (a demo rerun starts empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *workers < 1 {
		return fmt.Errorf("-workers %d: want at least 1", *workers)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := dial(cmp.Or(getenv("AMQP_URL"), "amqp://guest:guest@localhost:5672/"))
	if err != nil {
		return err
	}
	defer conn.Close()

	// One channel per goroutine: this one declares, then publishes.
	pub, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := declare(pub, *queue); err != nil {
		return err
	}
	for _, q := range []string{*queue, *queue + ".dead"} {
		if !*reset {
			continue
		}
		if _, err := pub.QueuePurge(q, false); err != nil {
			return fmt.Errorf("purge %s: %w", q, err)
		}
	}
	if err := pub.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	returns := DrainReturns(pub)

	bodies := [][]byte{
		[]byte(`{"type":"thumbnail","id":1}`), []byte(`{"type":"thumbnail","id":2}`),
		[]byte(`{"type":"thumbnail","id":3,"flaky":true}`), []byte(`{"type":"thumbnail","id":4}`),
		[]byte(`{"type":"resize-video","id":5}`), []byte(`not json`),
	}
	n, err := publishAll(ctx, pub, *queue, bodies)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published %d messages to quorum queue %s: %d confirmed\n", len(bodies), *queue, n)
	if _, err := publishAll(ctx, pub, *queue, [][]byte{make([]byte, maxBody+1)}); err != nil {
		fmt.Fprintf(stdout, "refused: %v\n", err)
	}
	// Confirmed is not routed: the broker acks a message no queue took.
	n, err = publishAll(ctx, pub, *queue+".nowhere", [][]byte{[]byte(`{"type":"thumbnail","id":9}`)})
	if err != nil {
		return err
	}
	if err := pub.Close(); err != nil {
		return fmt.Errorf("close channel: %w", err)
	}
	ret, err := returns.Wait(ctx)
	if err != nil {
		return fmt.Errorf("wait for returns: %w", err)
	}
	for _, r := range ret {
		fmt.Fprintf(stdout, "unroutable %q: %d confirmed, returned %d %s\n", r.RoutingKey, n, r.ReplyCode, r.ReplyText)
	}

	// Workers share the queue: 7 outcomes for 6 messages (job 3 twice).
	results := make(chan Result)
	wctx, stop := context.WithCancel(ctx)
	errs := make(chan error, *workers)
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() { errs <- work(wctx, conn, *queue, 2, results) })
	}
	var lines []string
	for seen := 0; seen < len(bodies)+1 && ctx.Err() == nil; {
		select {
		case r := <-results:
			seen++
			if l := describe(r); l != "" {
				lines = append(lines, l)
			}
		case <-ctx.Done():
		}
	}
	stop()
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	if err = errors.Join(err, ctx.Err()); err != nil {
		return err
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return printDead(ctx, conn, *queue+".dead", stdout)
}

func describe(r Result) string {
	var what string
	switch {
	case errors.Is(r.Err, errFlaky):
		what = "transient failure, nacked with requeue"
	case r.Err != nil:
		return "" // printed from the dead queue, with its reason
	default:
		what = "done"
	}
	return fmt.Sprintf("job %d, redelivered=%t: %s", r.Job.ID, r.Redelivered, what)
}

// printDead reads the dead queue back: each message carries its reason.
// Two workers dead-letter concurrently, so the lines are sorted.
func printDead(ctx context.Context, conn *amqp.Connection, dead string, stdout io.Writer) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	var lines []string
	for {
		d, ok, err := ch.Get(dead, true)
		if err != nil {
			return fmt.Errorf("get %s: %w", dead, err)
		}
		if !ok {
			break
		}
		lines = append(lines, fmt.Sprintf("%s: %q x-error=%q", dead, d.Body, d.Headers["x-error"]))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

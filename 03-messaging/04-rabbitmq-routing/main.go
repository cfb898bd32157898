// Command 04-rabbitmq-routing routes messages through direct, topic and
// fanout exchanges, retries a failed message later through a dead-letter
// exchange and a TTL queue, and survives a lost connection: it reconnects,
// republishes what was not confirmed and gets unacked deliveries back.
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
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

const retryDelay = 100 * time.Millisecond

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("04-rabbitmq-routing", flag.ContinueOnError)
	prefix := fs.String("prefix", "orders", "prefix of every exchange and queue name")
	// Off by default: a copied service that purged its queues at every start
	// would throw away every waiting message on each restart.
	reset := fs.Bool("reset", false, "purge the demo's queues first (a demo rerun starts empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var fault cutter // breaks the TCP connection in process, as a network would
	s := &Session{
		URL: cmp.Or(getenv("AMQP_URL"), "amqp://guest:guest@localhost:5672/"), Dial: fault.dial,
		Setup: func(ch *amqp.Channel) error { return setup(ch, *prefix) },
		OnReconnect: func(lost error) {
			fmt.Fprintf(stdout, "connection lost (%v), reconnected\n", lost)
		},
	}
	defer s.Close()
	if *reset {
		if err := purge(ctx, s, *prefix); err != nil {
			return err
		}
	}
	if err := showRouting(ctx, s, *prefix, stdout); err != nil {
		return err
	}
	if err := showRetry(ctx, s, *prefix, stdout); err != nil {
		return err
	}

	// A delivery in hand when the connection dies was never acked: the
	// broker requeues it. The ack on the dead channel fails.
	jobs := *prefix + ".jobs"
	if err := PublishConfirmed(ctx, s, "", jobs, amqp.Publishing{Body: []byte("m1")}); err != nil {
		return err
	}
	cctx, done := context.WithCancel(ctx)
	err := Consume(cctx, s, jobs, func(d amqp.Delivery) {
		if !d.Redelivered {
			fault.cut()
			fmt.Fprintf(stdout, "%s: delivered, connection cut before the ack (ack failed: %t)\n",
				d.Body, d.Ack(false) != nil)
			return
		}
		fmt.Fprintf(stdout, "%s: redelivered=%t, ack error: %v\n", d.Body, d.Redelivered, d.Ack(false))
		done()
	})
	if err != nil {
		return err
	}
	// A publish on a dead connection is not confirmed: publish it again.
	fault.cut()
	fmt.Fprintln(stdout, "m2: connection cut before the publish")
	if err := PublishConfirmed(ctx, s, "", jobs, amqp.Publishing{Body: []byte("m2")}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "m2: confirmed")
	return ctx.Err()
}

func setup(ch *amqp.Channel, prefix string) error {
	if err := declareRouting(ch, prefix); err != nil {
		return err
	}
	if err := declareRetry(ch, prefix, retryDelay); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(prefix+".jobs", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s.jobs: %w", prefix, err)
	}
	if err := ch.Qos(10, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	return ch.Confirm(false)
}

// showRouting publishes one message per exchange and key, then reads every
// bound queue and prints which queues each message reached.
func showRouting(ctx context.Context, s *Session, prefix string, stdout io.Writer) error {
	sent := []struct{ exchange, key string }{
		{"direct", "paid"}, {"direct", "refunded"}, {"topic", "order.eu.paid"},
		{"topic", "order.us.paid"}, {"fanout", "any"},
	}
	for _, m := range sent {
		msg := amqp.Publishing{Body: []byte(m.exchange + " " + m.key)}
		if err := PublishConfirmed(ctx, s, prefix+"."+m.exchange, m.key, msg); err != nil {
			return err
		}
	}
	reached := map[string][]string{}
	for _, b := range routes() {
		for {
			ch, err := s.Channel(ctx)
			if err != nil {
				return err
			}
			d, ok, err := ch.Get(prefix+"."+b.queue, true)
			if err != nil {
				return fmt.Errorf("get %s: %w", b.queue, err)
			}
			if !ok {
				break
			}
			reached[string(d.Body)] = append(reached[string(d.Body)], b.queue)
		}
	}
	for _, m := range sent {
		q := reached[m.exchange+" "+m.key]
		slices.Sort(q)
		fmt.Fprintf(stdout, "%-6s %-15q -> %s\n", m.exchange, m.key, strings.Join(q, ", "))
	}
	return nil
}

// showRetry runs a consumer that fails order-7 twice and order-8 always:
// each failure is rejected into the retry queue and comes back after
// retryDelay; the third failure parks the message with its reason.
func showRetry(ctx context.Context, s *Session, prefix string, stdout io.Writer) error {
	work := prefix + ".work"
	for _, id := range []string{"order-7", "order-8"} {
		if err := PublishConfirmed(ctx, s, "", work, amqp.Publishing{Body: []byte(id)}); err != nil {
			return err
		}
	}
	var lines []string
	var failed error
	cctx, done := context.WithCancel(ctx)
	finished := 0
	err := Consume(cctx, s, work, func(d amqp.Delivery) {
		line, err := retryOrPark(ctx, s, prefix, d)
		lines = append(lines, line)
		if failed = err; err != nil || !strings.Contains(line, "retry in") {
			if finished++; finished == 2 || err != nil {
				done()
			}
		}
	})
	err = errors.Join(err, failed)
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
	}
	return errors.Join(err, ctx.Err())
}

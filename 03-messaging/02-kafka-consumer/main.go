// Command 02-kafka-consumer consumes orders in a consumer group, commits an
// offset only after its message was handled, makes the effect idempotent with
// a PostgreSQL unique key, and sends failures to a retry topic and, after N
// attempts, to a dead-letter topic with the error in a header.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("02-kafka-consumer", flag.ContinueOnError)
	topic := fs.String("topic", "orders-demo", "topic to consume; <topic>.retry and <topic>.dlq beside it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	brokers := strings.Split(cmp.Or(getenv("KAFKA_BROKERS"), "localhost:9092"), ",")
	pool, err := pgxpool.New(ctx, cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		// Not wrapped: pgconn.ParseConfigError keeps the connection string,
		// password included, in a field that %#v and errors.As expose.
		return errors.New("connect: invalid DATABASE_URL")
	}
	defer pool.Close()
	pay := &Payments{Pool: pool, Group: *topic + "-billing"}
	if err := pay.CreateTable(ctx); err != nil {
		return err
	}
	if err := pay.Reset(ctx); err != nil {
		return err
	}
	c := NewConsumer(brokers, *topic, pay.Group)
	defer c.Out.Close()
	if err := CreateTopics(ctx, brokers, 3, c.Reader.Topic, c.RetryTopic, c.DLQTopic); err != nil {
		return err
	}
	demo := demoMessages(*topic)
	if err := c.Out.WriteMessages(ctx, demo...); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	fmt.Fprintf(stdout, "produced %d messages to %s\n", len(demo), *topic)

	// In-process faults: o-7's first charge times out, o-8's always does.
	failures := map[string]int{"o-7": 1, "o-8": 1 << 30}
	c.Handle = func(ctx context.Context, m kafka.Message) error {
		o, err := Decode(m)
		if err != nil {
			return err
		}
		if attempts(m) < failures[o.ID] {
			return fmt.Errorf("charge %s: payment gateway timeout", o.ID)
		}
		return pay.Apply(ctx, o)
	}
	var t Tally
	c.Report = t.Add

	// Consume until every demo message reached its end, then shut down the
	// way SIGTERM would: finish the message in hand, commit, leave the group.
	consumeCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(consumeCtx) }()
	waitErr := t.WaitFinal(ctx, len(demo))
	stop()
	if err := <-done; err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	if waitErr != nil {
		return fmt.Errorf("wait for %d outcomes: %w", len(demo), waitErr)
	}
	for _, line := range t.Lines() {
		fmt.Fprintln(stdout, line)
	}
	rows, cents, deliveries, err := pay.Totals(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "PostgreSQL: %d payments, %d cents, %d deliveries\n", rows, cents, deliveries)
	fmt.Fprintln(stdout, "shutdown: offsets committed, group left")
	return nil
}

// demoMessages: five orders, one duplicate, one flaky, one that always
// fails, one undecodable payload and one message of an unknown type.
func demoMessages(topic string) []kafka.Message {
	order := func(id string, cents int) kafka.Message {
		return kafka.Message{Topic: topic, Key: []byte(id), Value: fmt.Appendf(nil, `{"order_id":%q,"amount_cents":%d}`, id, cents),
			Headers: []kafka.Header{{Key: "type", Value: []byte("order.paid")}}}
	}
	msgs := []kafka.Message{order("o-1", 100), order("o-2", 200), order("o-3", 300), order("o-4", 400),
		order("o-5", 500), order("o-2", 200), order("o-7", 700), order("o-8", 800)}
	bad := order("bad-1", 0)
	bad.Value = []byte(`{not json`)
	refund := order("o-10", 1000)
	refund.Headers[0].Value = []byte("order.refunded")
	return append(msgs, bad, refund)
}

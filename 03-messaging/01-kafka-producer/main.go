// Command 01-kafka-producer writes to Kafka with a kafka.Writer configured on
// purpose — batches flushed after milliseconds, not a second; acks from every
// in-sync replica; a key hash that pins each key to one partition; compression;
// async writes reported through Completion — and handles each message's error.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("01-kafka-producer", flag.ContinueOnError)
	topic := fs.String("topic", "producer-demo", "topic to create (if missing) and write to")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	brokers := strings.Split(cmp.Or(getenv("KAFKA_BROKERS"), "localhost:9092"), ",")

	// Auto-creation would give the broker's default partition count (often 1)
	// and kafka-go does not ask for it anyway: create the topic on purpose.
	parts, err := CreateTopic(ctx, brokers, *topic, 3, maxMessageBytes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "topic %s: %d partitions, max.message.bytes=%d\n", *topic, parts, maxMessageBytes)

	// A kafka.Writer{} literal waits up to BatchTimeout (1 s) for a batch of
	// 100 to fill, so one synchronous write takes a second (kafka-go #1180).
	naive := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: *topic}
	took, err := timeWrite(ctx, naive, kafka.Message{Value: []byte("ping")})
	_ = naive.Close()
	if err != nil {
		return fmt.Errorf("default writer: %w", err)
	}
	fmt.Fprintf(stdout, "default Writer{}: 1 message in %.1fs (BatchTimeout 1s)\n", took.Seconds())

	// One tuned writer per topic; reused, safe for concurrent use.
	var where Placement
	w := NewWriter(brokers, *topic)
	w.Completion = where.Record
	defer w.Close()
	took, err = timeWrite(ctx, w, kafka.Message{Value: []byte("ping")})
	if err != nil {
		return fmt.Errorf("tuned writer: %w", err)
	}
	fmt.Fprintf(stdout, "tuned writer: 1 message in %dms (BatchTimeout %s)\n",
		took.Milliseconds(), w.BatchTimeout)

	// Per-key ordering: the same key always hashes to the same partition.
	users := []string{"alice", "carol", "dave"}
	var events []kafka.Message
	for _, step := range []string{"created", "paid", "shipped"} {
		for _, user := range users {
			events = append(events, kafka.Message{Key: []byte(user), Value: []byte(step)})
		}
	}
	if err := w.WriteMessages(ctx, events...); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	for _, line := range where.Lines(users...) {
		fmt.Fprintln(stdout, line)
	}

	// Async: WriteMessages returns at once; only Completion learns the outcome.
	ok, failed, err := WriteAsync(ctx, brokers, *topic, 1000)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "async: 1000 messages, %d delivered, %d failed (counted in Completion)\n", ok, failed)

	// Bad input: one oversized message must not take the good ones down.
	batch := []kafka.Message{
		{Key: []byte("a"), Value: []byte("small")},
		{Key: []byte("huge"), Value: make([]byte, 2<<20)},
		{Key: []byte("big"), Value: incompressible(100 << 10)},
		{Key: []byte("b"), Value: []byte("small")},
	}
	written, errs := Produce(ctx, w, batch)
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(stdout, "rejected message %d: %v\n", i, err)
		}
	}
	fmt.Fprintf(stdout, "written: %d of %d\n", written, len(batch))
	return nil
}

// Command 06-nats-jetstream stores orders in a JetStream stream with limits
// and publish deduplication, consumes them with a durable pull consumer that
// acks explicitly (a lost ack, a delayed nak, a poison message and a message
// that hits MaxDeliver all shown), and updates stock in a KV bucket with
// compare-and-set.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jetstream:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("06-nats-jetstream", flag.ContinueOnError)
	name := fs.String("stream", "DEMO_ORDERS", "stream of the demo (deleted and recreated), its subject prefix and KV bucket prefix")
	// Off by default: a copied service that deleted its stream at every
	// start would lose every message on each restart.
	reset := fs.Bool("reset", false, "delete the stream and KV bucket first (a demo rerun starts empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(cmp.Or(getenv("NATS_URL"), "nats://localhost:4222"),
		nats.Name("06-nats-jetstream"), nats.Timeout(2*time.Second))
	if err != nil {
		// A URL that does not parse comes back as the *url.Error of url.Parse,
		// which quotes the whole URL, password included: say so without it.
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			return errors.New("connect nats: invalid NATS_URL")
		}
		return fmt.Errorf("connect nats: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	if *reset {
		if err := js.DeleteStream(ctx, *name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream: %w", err)
		}
	}
	// Creates the stream, or brings an existing one to this config.
	stream, err := js.CreateOrUpdateStream(ctx, StreamConfig(*name))
	if err != nil {
		return fmt.Errorf("create stream %s: %w", *name, err)
	}
	cfg := stream.CachedInfo().Config
	fmt.Fprintf(stdout, "stream %s: %s, max %d msgs, max age %s, dedup window %s\n",
		cfg.Name, cfg.Retention, cfg.MaxMsgs, cfg.MaxAge, cfg.Duplicates)

	// Publish with Nats-Msg-Id: a retry of the same id inside the window is
	// acknowledged as a duplicate and not stored again.
	for _, p := range demoOrders(*name) {
		ack, err := js.Publish(ctx, p.subject, p.data, jetstream.WithMsgID(p.id))
		if err != nil {
			return fmt.Errorf("publish %s: %w", p.id, err)
		}
		fmt.Fprintf(stdout, "publish %s %s: seq %d, duplicate=%t\n", p.id, p.data, ack.Sequence, ack.Duplicate)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	fmt.Fprintf(stdout, "stream holds %d messages\n", info.State.Msgs)

	cons, err := stream.CreateOrUpdateConsumer(ctx, ConsumerConfig(*name))
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}
	hist, err := Consume(ctx, nc, js, stream, cons, 5)
	if err != nil {
		return err
	}
	for _, line := range hist {
		fmt.Fprintln(stdout, line)
	}
	// Every delivery ended: acked, terminated or given up after MaxDeliver.
	ci, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("consumer info: %w", err)
	}
	fmt.Fprintf(stdout, "consumer %s: %d messages unacked\n", ci.Name, ci.NumAckPending)

	lines, err := Stock(ctx, js, *name+"_STOCK", *reset)
	if err != nil {
		return err
	}
	for _, line := range lines {
		fmt.Fprintln(stdout, line)
	}
	return nil
}

type pub struct {
	id, subject string
	data        []byte
}

// demoOrders: four orders, a retry of o-2, a corrected o-2 under the same
// id (dropped too), one payload that is not JSON.
func demoOrders(stream string) []pub {
	s := stream + ".orders"
	return []pub{
		{"o-1", s + ".new", []byte(`{"order_id":"o-1","amount_cents":100}`)},
		{"o-2", s + ".new", []byte(`{"order_id":"o-2","amount_cents":200}`)},
		{"o-2", s + ".new", []byte(`{"order_id":"o-2","amount_cents":200}`)},
		{"o-2", s + ".new", []byte(`{"order_id":"o-2","amount_cents":250}`)},
		{"o-3", s + ".new", []byte(`{"order_id":"o-3","amount_cents":300}`)},
		{"bad-1", s + ".new", []byte(`{not json`)},
		{"o-9", s + ".new", []byte(`{"order_id":"o-9","amount_cents":900}`)},
	}
}

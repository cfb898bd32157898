// Command 08-outbox publishes events reliably with a transactional outbox:
// the order and its event are written in one PostgreSQL transaction, a
// relay claims unsent rows with FOR UPDATE SKIP LOCKED and publishes them
// to RabbitMQ, and an idempotent consumer applies each event once, even
// when the relay crashed after publishing and published again.
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
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("08-outbox", flag.ContinueOnError)
	prefix := fs.String("prefix", "outbox_demo", "prefix of the demo's tables and queue")
	// Off by default: a copied service that dropped its tables and purged
	// its queues at every start would destroy data on each restart.
	reset := fs.Bool("reset", false, "drop the demo's tables and purge its queues first (a demo rerun starts empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		// Not wrapped: a parse error's fields may hold the connection string.
		return errors.New("connect postgres: invalid DATABASE_URL")
	}
	defer pool.Close()
	conn, err := dial(cmp.Or(getenv("AMQP_URL"), "amqp://guest:guest@localhost:5672/"))
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	t := tables(*prefix)
	if err := t.create(ctx, pool, *reset); err != nil {
		return err
	}
	for _, q := range []string{*prefix, *prefix + ".dead"} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue: %w", err)
		}
		if !*reset {
			continue
		}
		if _, err := ch.QueuePurge(q, false); err != nil {
			return fmt.Errorf("purge queue: %w", err)
		}
	}

	for _, o := range []struct {
		id    string
		cents int64
	}{{"o-1", 1500}, {"o-2", 2500}, {"o-3", 0}} {
		if err := PlaceOrder(ctx, pool, t, o.id, o.cents); err != nil {
			fmt.Fprintf(stdout, "place %s: %v (no order, no event)\n", o.id, err)
			continue
		}
		fmt.Fprintf(stdout, "place %s: order and outbox row committed together\n", o.id)
	}

	relay, err := NewRelay(pool, t, ch, *prefix, 10)
	if err != nil {
		return err
	}
	// The first run dies between the broker's confirm and the UPDATE.
	relay.AfterPublish = func(n int) error { return fmt.Errorf("crashed after publishing %d", n) }
	if _, err := relay.RunOnce(ctx); err != nil {
		fmt.Fprintf(stdout, "relay: %v, before marking them sent\n", err)
	}
	relay.AfterPublish = nil
	n, err := relay.RunOnce(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "relay: published %d again, marked sent\n", n)

	// Another producer's bad message: the consumer dead-letters it.
	if err := ch.PublishWithContext(ctx, "", *prefix, false, false, amqp.Publishing{
		MessageId: "bad-1", Body: []byte(`{"type":"order.cancelled"}`)}); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	// The consumer sees o-1 and o-2 twice and applies each once.
	if err := ConsumeAll(ctx, pool, t, ch, *prefix, stdout); err != nil {
		return err
	}
	var rows, cents int64
	if err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(sum(cents), 0) FROM %s`,
		pgx.Identifier{t.Ledger}.Sanitize())).Scan(&rows, &cents); err != nil {
		return fmt.Errorf("read ledger: %w", err)
	}
	fmt.Fprintf(stdout, "ledger: %d rows, %d cents\n", rows, cents)
	return nil
}

// dial connects; the URL appears only redacted.
func dial(rawURL string) (*amqp.Connection, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("parse AMQP_URL: not a valid URL (value not shown)")
	}
	conn, err := amqp.DialConfig(rawURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", u.Redacted(), err)
	}
	return conn, nil
}

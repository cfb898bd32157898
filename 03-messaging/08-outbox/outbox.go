package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Tables names the demo's tables: a prefix keeps runs and tests apart.
type Tables struct{ Orders, Outbox, Processed, Ledger string }

func tables(prefix string) Tables {
	return Tables{prefix + "_orders", prefix + "_outbox", prefix + "_processed", prefix + "_ledger"}
}

// create makes the tables if they are missing. reset drops them first: the
// demo's -reset, never something a service does when it starts.
func (t Tables) create(ctx context.Context, pool *pgxpool.Pool, reset bool) error {
	id := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	if reset {
		if _, err := pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %s, %s, %s, %s`,
			id(t.Orders), id(t.Outbox), id(t.Processed), id(t.Ledger))); err != nil {
			return fmt.Errorf("drop tables: %w", err)
		}
	}
	_, err := pool.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE IF NOT EXISTS %[1]s (id text PRIMARY KEY, cents bigint NOT NULL CHECK (cents > 0));
		CREATE TABLE IF NOT EXISTS %[2]s (
			id         bigserial   PRIMARY KEY,
			message_id text        NOT NULL UNIQUE,
			payload    jsonb       NOT NULL,
			created_at timestamptz NOT NULL DEFAULT now(),
			sent_at    timestamptz
		);
		CREATE INDEX IF NOT EXISTS %[5]s ON %[2]s (id) WHERE sent_at IS NULL;
		CREATE TABLE IF NOT EXISTS %[3]s (message_id text PRIMARY KEY);
		CREATE TABLE IF NOT EXISTS %[4]s (order_id text NOT NULL, cents bigint NOT NULL);`,
		id(t.Orders), id(t.Outbox), id(t.Processed), id(t.Ledger), id(t.Outbox+"_unsent")))
	if err != nil {
		return fmt.Errorf("create tables: %w", err)
	}
	return nil
}

// OrderPlaced is the event the outbox carries.
type OrderPlaced struct {
	Type    string `json:"type"`
	OrderID string `json:"order_id"`
	Cents   int64  `json:"cents"`
}

// PlaceOrder writes the order and its event in one transaction: both are
// stored or neither is. Publishing to the broker here instead would lose
// the event when the process dies between commit and publish.
func PlaceOrder(ctx context.Context, pool *pgxpool.Pool, t Tables, orderID string, cents int64) error {
	payload, err := json.Marshal(OrderPlaced{Type: "order.placed", OrderID: orderID, Cents: cents})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (id, cents) VALUES ($1, $2)`,
			pgx.Identifier{t.Orders}.Sanitize()), orderID, cents); err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (message_id, payload) VALUES ($1, $2)`,
			pgx.Identifier{t.Outbox}.Sanitize()), "order.placed:"+orderID, payload); err != nil {
			return fmt.Errorf("insert outbox: %w", err)
		}
		return nil
	})
}

// Relay moves unsent outbox rows to the broker.
type Relay struct {
	Pool   *pgxpool.Pool
	Tables Tables
	Ch     *amqp.Channel // in confirm mode, see NewRelay
	Queue  string
	// returns receives unroutable messages (mandatory). The library sends
	// them before the confirm, so a batch's returns are here once its
	// confirms are.
	returns chan amqp.Return
	// AfterPublish runs after the broker confirmed the batch and before the
	// rows are marked sent; an error rolls the claim back (a crash there).
	AfterPublish func(published int) error
}

// NewRelay puts ch in confirm mode and listens for returns; batches are at
// most limit rows, so the buffer never fills.
func NewRelay(pool *pgxpool.Pool, t Tables, ch *amqp.Channel, queue string, limit int) (*Relay, error) {
	if err := ch.Confirm(false); err != nil {
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	r := &Relay{Pool: pool, Tables: t, Ch: ch, Queue: queue, returns: make(chan amqp.Return, limit)}
	ch.NotifyReturn(r.returns)
	return r, nil
}

// RunOnce claims up to limit unsent rows with FOR UPDATE SKIP LOCKED (two
// relays never claim the same row, and neither waits for the other),
// publishes them with confirms, and marks them sent in the same
// transaction. A crash after the publish leaves the rows unsent: the next
// run publishes them again, so the consumer must deduplicate.
func (r *Relay) RunOnce(ctx context.Context) (sent int, err error) {
	limit := cap(r.returns)
	err = pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		outbox := pgx.Identifier{r.Tables.Outbox}.Sanitize()
		rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT id, message_id, payload FROM %s
			WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, outbox), limit)
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		type row struct {
			id        int64
			messageID string
			payload   []byte
		}
		claimed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.messageID, &x.payload)
		})
		if err != nil || len(claimed) == 0 {
			return err
		}
		ids := make([]int64, len(claimed))
		pending := make([]*amqp.DeferredConfirmation, len(claimed))
		for i, c := range claimed {
			ids[i] = c.id
			pending[i], err = r.Ch.PublishWithDeferredConfirmWithContext(ctx, "", r.Queue, true, false,
				amqp.Publishing{MessageId: c.messageID, ContentType: "application/json",
					DeliveryMode: amqp.Persistent, Body: c.payload})
			if err != nil {
				return fmt.Errorf("publish %s: %w", c.messageID, err)
			}
		}
		for i, dc := range pending {
			if err := confirmed(dc.WaitContext(ctx)); err != nil {
				return fmt.Errorf("publish %s: %w", claimed[i].messageID, err)
			}
		}
		for len(r.returns) > 0 { // not routed: keep the rows unsent
			ret := <-r.returns
			err = errors.Join(err, fmt.Errorf("publish %s: returned %d %s", ret.MessageId, ret.ReplyCode, ret.ReplyText))
		}
		if err != nil {
			return err
		}
		if r.AfterPublish != nil {
			if err := r.AfterPublish(len(claimed)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET sent_at = now() WHERE id = ANY($1)`,
			outbox), ids); err != nil {
			return fmt.Errorf("mark sent: %w", err)
		}
		sent = len(claimed)
		return nil
	})
	return sent, err
}

// confirmed turns a publisher confirm into an error: a nack has no error of
// its own, and formatting a nil one with %w would print %!w(<nil>).
func confirmed(ok bool, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("wait for confirm: %w", err)
	case !ok:
		return errors.New("nacked by the broker")
	}
	return nil
}

// errDuplicate marks a message the consumer has already applied.
var errDuplicate = errors.New("duplicate")

// invalid marks what is wrong with the message itself: no retry can fix it,
// so the consumer dead-letters it. Every other error (PostgreSQL down, a
// timeout) is transient and the message must be retried, not set aside.
type invalid struct{ error }

func (e invalid) Unwrap() error { return e.error }

// Apply is the idempotent consumer: it records the message id and applies
// the effect in one transaction. A redelivered or republished message hits
// the primary key and changes nothing. Bad messages are errors, not
// effects: the caller dead-letters them with the reason.
func Apply(ctx context.Context, pool *pgxpool.Pool, t Tables, d amqp.Delivery) (OrderPlaced, error) {
	var e OrderPlaced
	switch {
	case d.MessageId == "":
		return e, invalid{errors.New("no message id: cannot deduplicate")}
	case len(d.Body) > 64<<10:
		return e, invalid{fmt.Errorf("oversized: %d bytes", len(d.Body))}
	}
	if err := json.Unmarshal(d.Body, &e); err != nil {
		return e, invalid{fmt.Errorf("undecodable: %w", err)}
	}
	if e.Type != "order.placed" {
		return e, invalid{fmt.Errorf("unknown type %q", e.Type)}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return e, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (message_id) VALUES ($1) ON CONFLICT DO NOTHING`,
			pgx.Identifier{t.Processed}.Sanitize()), d.MessageId)
		if err != nil {
			return fmt.Errorf("record %s: %w", d.MessageId, err)
		}
		if tag.RowsAffected() == 0 {
			return errDuplicate
		}
		_, err = tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s (order_id, cents) VALUES ($1, $2)`,
			pgx.Identifier{t.Ledger}.Sanitize()), e.OrderID, e.Cents)
		return err
	})
}

// ConsumeAll applies every message waiting in queue and acks it after the
// effect is committed (a crash in between redelivers it; Apply dedups).
// A bad message goes to queue+".dead" with the reason, confirmed before
// the ack, so nothing is dropped. Any other failure (the database is down)
// requeues the message and returns the error: the caller backs off before
// it calls again, instead of dead-lettering every message of an outage.
func ConsumeAll(ctx context.Context, pool *pgxpool.Pool, t Tables, ch *amqp.Channel, queue string,
	out io.Writer) error {
	for {
		d, ok, err := ch.Get(queue, false)
		if err != nil || !ok {
			return err
		}
		e, err := Apply(ctx, pool, t, d)
		switch {
		case errors.Is(err, errDuplicate):
			fmt.Fprintf(out, "consumer: %s duplicate, acked without effect\n", d.MessageId)
		case err != nil && !errors.As(err, new(invalid)):
			return errors.Join(fmt.Errorf("apply %s (requeued): %w", d.MessageId, err), d.Nack(false, true))
		case err != nil:
			fmt.Fprintf(out, "consumer: %s dead-lettered: %v\n", d.MessageId, err)
			if err := deadLetter(ctx, ch, queue+".dead", d, err); err != nil {
				return errors.Join(err, d.Nack(false, true))
			}
		default:
			fmt.Fprintf(out, "consumer: %s applied (%s, %d cents)\n", d.MessageId, e.OrderID, e.Cents)
		}
		if err := d.Ack(false); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
}

func deadLetter(ctx context.Context, ch *amqp.Channel, dead string, d amqp.Delivery, reason error) error {
	if _, err := ch.QueueDeclare(dead, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare %s: %w", dead, err)
	}
	// Persistent: the dead letter is the only copy once the original is acked.
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", dead, false, false, amqp.Publishing{
		MessageId: d.MessageId, Headers: amqp.Table{"x-error": reason.Error()},
		DeliveryMode: amqp.Persistent, Body: d.Body})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.MessageId, err)
	}
	if err := confirmed(dc.WaitContext(ctx)); err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.MessageId, err)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"
)

// Order is the payload of an "order.paid" message.
type Order struct {
	ID          string `json:"order_id"`
	AmountCents int64  `json:"amount_cents"`
}

// Decode checks the type header and the payload; what fails here fails on
// every attempt, so the error is Permanent.
func Decode(m kafka.Message) (Order, error) {
	if t, _ := header(m, "type"); t != "order.paid" {
		return Order{}, Permanent(fmt.Errorf("unknown message type %q", t))
	}
	var o Order
	if err := json.Unmarshal(m.Value, &o); err != nil {
		return Order{}, Permanent(fmt.Errorf("decode order: %w", err))
	}
	if o.ID == "" || o.AmountCents <= 0 {
		return Order{}, Permanent(fmt.Errorf("invalid order %q: amount %d", o.ID, o.AmountCents))
	}
	return o, nil
}

// Payments is the consumer's effect: one row per order and group. The
// primary key makes a redelivered message a no-op, which is what turns
// at-least-once delivery into an effect that happens once.
type Payments struct {
	Pool  *pgxpool.Pool
	Group string
}

// CreateTable creates the payments table if it is missing.
func (p *Payments) CreateTable(ctx context.Context) error {
	_, err := p.Pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS kafka_payments (
		group_id     text   NOT NULL,
		order_id     text   NOT NULL,
		amount_cents bigint NOT NULL,
		deliveries   int    NOT NULL DEFAULT 1,
		PRIMARY KEY (group_id, order_id)
	)`)
	if err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	return nil
}

// Apply records the payment once. A repeat only counts the delivery (to show
// redeliveries happened) and returns ErrDuplicate.
func (p *Payments) Apply(ctx context.Context, o Order) error {
	var deliveries int
	err := p.Pool.QueryRow(ctx, `INSERT INTO kafka_payments (group_id, order_id, amount_cents)
		VALUES ($1, $2, $3)
		ON CONFLICT (group_id, order_id) DO UPDATE SET deliveries = kafka_payments.deliveries + 1
		RETURNING deliveries`, p.Group, o.ID, o.AmountCents).Scan(&deliveries)
	if err != nil {
		return fmt.Errorf("apply %s: %w", o.ID, err)
	}
	if deliveries > 1 {
		return ErrDuplicate
	}
	return nil
}

// Totals returns the number of payments, their sum and the deliveries seen.
func (p *Payments) Totals(ctx context.Context) (rows, cents, deliveries int64, err error) {
	err = p.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(amount_cents), 0), coalesce(sum(deliveries), 0)
		FROM kafka_payments WHERE group_id = $1`, p.Group).Scan(&rows, &cents, &deliveries)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("totals: %w", err)
	}
	return rows, cents, deliveries, nil
}

// Reset deletes the group's rows, so the demo starts clean on every run.
func (p *Payments) Reset(ctx context.Context) error {
	if _, err := p.Pool.Exec(ctx, `DELETE FROM kafka_payments WHERE group_id = $1`, p.Group); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

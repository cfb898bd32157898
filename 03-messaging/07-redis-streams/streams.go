package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxPayload bounds one entry's payload; larger entries are dead-lettered.
const maxPayload = 64 << 10

// Event is the payload of an entry: a type the consumer knows and a user.
type Event struct {
	Type string `json:"type"`
	User string `json:"user"`
}

// errTransient is a failure worth retrying: the entry stays pending.
var errTransient = errors.New("downstream timeout")

// decode checks an entry; its error is the reason it is dead-lettered.
func decode(values map[string]any) (Event, error) {
	var e Event
	p, ok := values["payload"].(string)
	switch {
	case !ok:
		return e, errors.New("undecodable: no payload field")
	case len(p) > maxPayload:
		return e, fmt.Errorf("oversized: %d bytes exceeds %d", len(p), maxPayload)
	}
	if err := json.Unmarshal([]byte(p), &e); err != nil {
		return e, fmt.Errorf("undecodable: %w", err)
	}
	if e.Type != "signup" {
		return e, fmt.Errorf("unknown type %q", e.Type)
	}
	return e, nil
}

// handle is the business step: it fails for the user "poison", always.
func handle(e Event) error {
	if e.User == "poison" {
		return errTransient
	}
	return nil
}

// Consumer reads one group of one stream under its own name.
type Consumer struct {
	RDB           *redis.Client
	Stream, Group string
	Name          string
	MaxDeliveries int64 // a pending entry delivered more often is dead-lettered
	Out           io.Writer
}

// ReadNew reads up to count entries never delivered to the group (">").
func (c *Consumer) ReadNew(ctx context.Context, count int64) ([]redis.XMessage, error) {
	res, err := c.RDB.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: c.Group, Consumer: c.Name, Streams: []string{c.Stream, ">"},
		Count: count, Block: -1, // -1: do not block (0 would block for ever)
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("xreadgroup %s: %w", c.Stream, err)
	}
	return res[0].Messages, nil
}

// Process acks what succeeds, dead-letters what can never succeed, and
// leaves transient failures pending for a later XAUTOCLAIM.
func (c *Consumer) Process(ctx context.Context, msgs []redis.XMessage, deliveries int64) error {
	for _, m := range msgs {
		label := fmt.Sprint(m.Values["payload"])
		e, err := decode(m.Values)
		switch {
		case err != nil:
			fmt.Fprintf(c.Out, "  %s: dead-lettered: %v\n", label, err)
			err = c.deadLetter(ctx, m, err)
		case handle(e) != nil:
			fmt.Fprintf(c.Out, "  %s: %v, left pending (delivery %d)\n", label, errTransient, deliveries)
			continue
		default:
			fmt.Fprintf(c.Out, "  %s: done (delivery %d)\n", label, deliveries)
			err = c.RDB.XAck(ctx, c.Stream, c.Group, m.ID).Err()
		}
		if err != nil {
			return fmt.Errorf("settle %s: %w", m.ID, err)
		}
	}
	return nil
}

// deadLetter copies the entry with its reason to Stream+".dead", then acks
// it only if the copy was stored. Not one MULTI/EXEC: Redis has no rollback,
// and an XADD that fails at EXEC (a WRONGTYPE key, OOM) would leave the XACK
// of the same transaction to run and lose the entry. A crash between the two
// leaves it pending: it is dead-lettered again, a duplicate in the dead
// stream (its "id" field tells), never a loss.
func (c *Consumer) deadLetter(ctx context.Context, m redis.XMessage, reason error) error {
	if err := c.RDB.XAdd(ctx, &redis.XAddArgs{Stream: c.Stream + ".dead", Values: map[string]any{
		"id": m.ID, "reason": reason.Error(), "payload": m.Values["payload"],
	}}).Err(); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	return c.RDB.XAck(ctx, c.Stream, c.Group, m.ID).Err()
}

// Recover claims entries pending longer than minIdle — on any consumer,
// crashed ones included — and processes them. Without it they stay pending
// for ever. An entry delivered more than MaxDeliveries times is a poison
// message: dead-lettered instead of retried. It returns how many entries
// it claimed.
func (c *Consumer) Recover(ctx context.Context, minIdle time.Duration) (int, error) {
	claimed, _, deleted, err := c.RDB.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
		Stream: c.Stream, Group: c.Group, Consumer: c.Name, MinIdle: minIdle, Start: "0-0", Count: 100,
	}).Result()
	if err != nil {
		return 0, fmt.Errorf("xautoclaim %s: %w", c.Stream, err)
	}
	if n := len(claimed) + len(deleted); n > 0 {
		fmt.Fprintf(c.Out, "%s: XAUTOCLAIM idle >= %s claimed %d\n", c.Name, minIdle, n)
	}
	for _, id := range deleted { // trimmed by MAXLEN before anyone acked it
		fmt.Fprintf(c.Out, "  %s: lost, trimmed from the stream before XACK\n", id)
	}
	for _, m := range claimed {
		p, err := c.RDB.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: c.Stream, Group: c.Group, Start: m.ID, End: m.ID, Count: 1,
		}).Result()
		if err != nil {
			return 0, fmt.Errorf("xpending %s: %w", m.ID, err)
		}
		if len(p) != 1 {
			return 0, fmt.Errorf("xpending %s: not pending", m.ID)
		}
		if n := p[0].RetryCount; n > c.MaxDeliveries {
			reason := fmt.Errorf("exceeded %d deliveries", c.MaxDeliveries)
			fmt.Fprintf(c.Out, "  %s: dead-lettered: %v\n", m.Values["payload"], reason)
			if err := c.deadLetter(ctx, m, reason); err != nil {
				return 0, fmt.Errorf("dead-letter %s: %w", m.ID, err)
			}
			continue
		}
		if err := c.Process(ctx, []redis.XMessage{m}, p[0].RetryCount); err != nil {
			return 0, err
		}
	}
	return len(claimed) + len(deleted), nil
}

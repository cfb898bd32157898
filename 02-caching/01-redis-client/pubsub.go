package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// pubsub shows Redis Pub/Sub's delivery rule: at most once, to whoever is
// subscribed at that instant. A message published before the subscription
// is confirmed is gone; nothing is stored or redelivered.
func (d demo) pubsub(ctx context.Context) error {
	ch := d.key("invalidate")
	n, err := d.rdb.Publish(ctx, ch, "user:41").Result()
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	fmt.Fprintf(d.out, "pubsub: published before subscribing: %d receivers (lost)\n", n)

	sub := d.rdb.Subscribe(ctx, ch)
	defer sub.Close()
	// Subscribe returns before the server confirms. Receive waits for the
	// confirmation; publishing earlier races the subscription.
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	if n, err = d.rdb.Publish(ctx, ch, "user:42").Result(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	msg, err := sub.ReceiveMessage(rctx)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	fmt.Fprintf(d.out, "pubsub: subscribed, published: %d receiver, got %q\n", n, msg.Payload)
	return nil
}

// blockingPop waits up to wait for an element of an empty list, under a
// context that ends after deadline.
func blockingPop(ctx context.Context, rdb *redis.Client, key string, deadline, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	return rdb.BLPop(ctx, wait, key).Err()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// binding is one queue bound to an exchange with a key (or pattern).
type binding struct{ exchange, kind, queue, key string }

// routes of the routing demo, queue names relative to the prefix.
// Topic patterns: * is one word, # is zero or more words.
func routes() []binding {
	return []binding{
		{"direct", amqp.ExchangeDirect, "billing", "paid"},
		{"direct", amqp.ExchangeDirect, "refunds", "refunded"},
		{"topic", amqp.ExchangeTopic, "eu-orders", "order.eu.*"},
		{"topic", amqp.ExchangeTopic, "audit", "order.#"},
		{"fanout", amqp.ExchangeFanout, "cache-a", ""},
		{"fanout", amqp.ExchangeFanout, "cache-b", ""},
	}
}

// declareRouting declares the three exchanges and their bound queues.
func declareRouting(ch *amqp.Channel, prefix string) error {
	for _, b := range routes() {
		ex, q := prefix+"."+b.exchange, prefix+"."+b.queue
		if err := ch.ExchangeDeclare(ex, b.kind, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare exchange %s: %w", ex, err)
		}
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare %s: %w", q, err)
		}
		if err := ch.QueueBind(q, b.key, ex, false, nil); err != nil {
			return fmt.Errorf("bind %s: %w", q, err)
		}
	}
	return nil
}

// declareRetry declares the work queue, its retry queue and the parking
// queue. A rejected message (Nack, requeue=false) is dead-lettered to
// .retry; there it waits retryDelay (x-message-ttl) and is dead-lettered
// back to .work. The broker counts the trips in the x-death header.
func declareRetry(ch *amqp.Channel, prefix string, retryDelay time.Duration) error {
	work, retry, parked := prefix+".work", prefix+".retry", prefix+".parked"
	queues := []struct {
		name string
		args amqp.Table
	}{
		{work, amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": retry}},
		{retry, amqp.Table{
			"x-message-ttl":          retryDelay.Milliseconds(),
			"x-dead-letter-exchange": "", "x-dead-letter-routing-key": work,
		}},
		{parked, nil},
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q.name, true, false, false, false, q.args); err != nil {
			return fmt.Errorf("declare %s: %w", q.name, err)
		}
	}
	return nil
}

// attempt is 1 + how often the message was rejected from queue, read from
// the x-death header the broker maintains.
func attempt(d amqp.Delivery, queue string) int {
	deaths, _ := d.Headers["x-death"].([]any)
	for _, x := range deaths {
		t, _ := x.(amqp.Table)
		if t["queue"] == queue && t["reason"] == "rejected" {
			n, _ := t["count"].(int64)
			return int(n) + 1
		}
	}
	return 1
}

// maxAttempts bounds the retries: the third failure parks the message.
const maxAttempts = 3

// retryOrPark handles one order: ack on success, reject into the retry
// queue on a failure, or publish to .parked with the reason (confirmed
// before the ack, so nothing is lost) once maxAttempts is reached.
func retryOrPark(ctx context.Context, s *Session, prefix string, d amqp.Delivery) (string, error) {
	id, n := string(d.Body), attempt(d, prefix+".work")
	var reason error
	switch {
	case id == "order-8":
		reason = errors.New("card declined")
	case id == "order-7" && n < 3:
		reason = errors.New("payment service unavailable")
	}
	if reason == nil {
		return fmt.Sprintf("%s: attempt %d done", id, n), d.Ack(false)
	}
	if n < maxAttempts {
		return fmt.Sprintf("%s: attempt %d failed (%v), retry in %s", id, n, reason, retryDelay),
			d.Nack(false, false)
	}
	parked := amqp.Publishing{Headers: amqp.Table{"x-error": reason.Error()}, Body: d.Body}
	if err := PublishConfirmed(ctx, s, "", prefix+".parked", parked); err != nil {
		return "", errors.Join(err, d.Nack(false, true))
	}
	return fmt.Sprintf("%s: attempt %d failed (%v), parked in %s.parked", id, n, reason, prefix),
		d.Ack(false)
}

// purge empties every queue of the demo.
func purge(ctx context.Context, s *Session, prefix string) error {
	ch, err := s.Channel(ctx)
	if err != nil {
		return err
	}
	names := []string{".work", ".retry", ".parked", ".jobs"}
	for _, b := range routes() {
		names = append(names, "."+b.queue)
	}
	for _, n := range names {
		if _, err := ch.QueuePurge(prefix+n, false); err != nil {
			return fmt.Errorf("purge %s%s: %w", prefix, n, err)
		}
	}
	return nil
}

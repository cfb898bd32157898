package contract

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	amqp "github.com/rabbitmq/amqp091-go"
)

// rabbitBroker: amqp091-go v1.16.0, one durable quorum queue per group
// ("g1" is the queue the topic declares; a later group gets a new, empty
// queue — RabbitMQ has no replay for classic and quorum queues).
type rabbitBroker struct{ url string }

func (rabbitBroker) Name() string { return "RabbitMQ (amqp091-go)" }

func (rabbitBroker) Guarantees() Guarantees {
	return Guarantees{
		Redelivery: true, RedeliveryVia: "requeued at once when its channel closes",
		KeyOrderInGroup: false, Replay: false, Dedup: false,
		Retention: "queue: deleted on ack (limits: x-max-length, TTL)",
	}
}

func (b rabbitBroker) Topic(t *testing.T) Topic {
	t.Helper()
	conn, err := amqp.DialConfig(b.url, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	name := testkit.Name(t)
	if _, err := ch.QueueDeclare(name, true, false, false, false,
		amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ch.QueueDelete(name, false, false, false)
		_ = conn.Close()
	})
	return &rabbitTopic{conn: conn, ch: ch, queue: name}
}

type rabbitTopic struct {
	conn  *amqp.Connection
	ch    *amqp.Channel // publishing only, from the test's goroutine
	queue string
}

func (r *rabbitTopic) Publish(ctx context.Context, msgs ...Message) error {
	pending := make([]*amqp.DeferredConfirmation, len(msgs))
	for i, m := range msgs {
		var err error
		pending[i], err = r.ch.PublishWithDeferredConfirmWithContext(ctx, "", r.queue, true, false,
			amqp.Publishing{MessageId: m.ID, Headers: amqp.Table{"key": m.Key},
				DeliveryMode: amqp.Persistent, Body: m.Body})
		if err != nil {
			return err
		}
	}
	for _, dc := range pending {
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			return fmt.Errorf("confirm %d: acked=%t: %w", dc.DeliveryTag, ok, err)
		}
	}
	return nil
}

func (r *rabbitTopic) Subscribe(t *testing.T, group string) Subscriber {
	t.Helper()
	queue := r.queue
	if group != "g1" {
		queue = r.queue + "." + group
	}
	ch, err := r.conn.Channel() // one channel per consumer
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false,
		amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		t.Fatal(err)
	}
	if queue != r.queue {
		t.Cleanup(func() { _, _ = r.ch.QueueDelete(queue, false, false, false) })
	}
	if err := ch.Qos(10, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &rabbitSub{ch: ch, deliveries: deliveries}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type rabbitSub struct {
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery
}

func (s *rabbitSub) Next(ctx context.Context) (Delivery, error) {
	select {
	case <-ctx.Done():
		return Delivery{}, ctx.Err()
	case d, ok := <-s.deliveries:
		if !ok {
			return Delivery{}, errors.New("deliveries closed")
		}
		key, _ := d.Headers["key"].(string)
		return Delivery{
			Message: Message{ID: d.MessageId, Key: key, Body: d.Body},
			Ack:     func(context.Context) error { return d.Ack(false) },
		}, nil
	}
}

func (s *rabbitSub) Close() error {
	if s.ch.IsClosed() {
		return nil
	}
	return s.ch.Close()
}

func TestRabbitMQ(t *testing.T) {
	t.Parallel()
	Run(t, rabbitBroker{url: testkit.Require(t, testkit.RabbitMQ)})
}

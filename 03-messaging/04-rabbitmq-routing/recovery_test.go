package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TestConfigRecoveryAcksTheWrongMessage pins down why Session does not use
// the library's experimental Config.Recovery: after a recovery the same
// *Channel numbers deliveries from 1 again, so acking a delivery received
// before the cut acknowledges a different message.
func TestConfigRecoveryAcksTheWrongMessage(t *testing.T) {
	t.Parallel()
	proxy, url := faultproxy.ForURL(t, testkit.Require(t, testkit.RabbitMQ))
	conn, err := amqp.DialConfig(url, amqp.Config{Recovery: &amqp.Recovery{
		ReconnectionConfig: &amqp.ReconnectionConfig{MaxRetryCount: 50, RetryInterval: 100 * time.Millisecond},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := testkit.Name(t)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteQueue(t, q) })
	for _, body := range []string{"A", "B"} {
		if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	states := make(chan *amqp.StateChanged, 16)
	ch.NotifyStateChange(states)
	if err := ch.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	next := func() amqp.Delivery {
		t.Helper()
		select {
		case d := <-deliveries:
			return d
		case <-time.After(15 * time.Second):
			t.Fatal("no delivery")
			return amqp.Delivery{}
		}
	}
	a, oldB := next(), next() // tags 1 and 2
	if err := a.Ack(false); err != nil {
		t.Fatal(err)
	}
	// A round trip on the same channel: the broker has processed the ack.
	if _, err := ch.QueueDeclarePassive(q, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	proxy.Cut() // B is unacked: the broker requeues it
	proxy.Restore(t)
	for s := range states {
		if s.To == amqp.StateOpen {
			break
		}
	}
	// C arrives after the recovery, from another producer.
	other, err := amqp.Dial(testkit.Endpoint(testkit.RabbitMQ))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	och, err := other.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := och.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte("C")}); err != nil {
		t.Fatal(err)
	}
	newB, newC := next(), next() // the new channel: B is tag 1, C is tag 2
	if string(newB.Body) != "B" || string(newC.Body) != "C" || newC.DeliveryTag != oldB.DeliveryTag {
		t.Fatalf("after recovery: %s (tag %d), %s (tag %d)", newB.Body, newB.DeliveryTag, newC.Body, newC.DeliveryTag)
	}
	// The handler of the pre-cut B finishes and acks: the broker acks C.
	if err := oldB.Ack(false); err != nil {
		t.Fatal(err)
	}
	// Close without acking the new deliveries: the unacked ones requeue.
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	cch := och
	testkit.Eventually(t, 10*time.Second, func() error {
		info, err := cch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil {
			return err
		}
		if info.Messages != 1 {
			return fmt.Errorf("%d ready", info.Messages)
		}
		return nil
	})
	d, ok, err := cch.Get(q, true)
	if err != nil || !ok || string(d.Body) != "B" {
		t.Fatalf("left in the queue: %q ok=%t err=%v; want only B: the ack meant for the old B took C", d.Body, ok, err)
	}
}

func deleteQueue(t *testing.T, q string) {
	conn, err := amqp.Dial(testkit.Endpoint(testkit.RabbitMQ))
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		_, _ = ch.QueueDelete(q, false, false, false)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	amqp "github.com/rabbitmq/amqp091-go"
)

// cleanup deletes the demo's exchanges and queues under prefix.
func cleanup(t *testing.T, url, prefix string) {
	t.Cleanup(func() {
		conn, err := amqp.Dial(url)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Error(err)
			return
		}
		for _, q := range []string{".work", ".retry", ".parked", ".jobs"} {
			_, _ = ch.QueueDelete(prefix+q, false, false, false)
		}
		for _, b := range routes() {
			_, _ = ch.QueueDelete(prefix+"."+b.queue, false, false, false)
			_ = ch.ExchangeDelete(prefix+"."+b.exchange, false, false)
		}
	})
}

func TestRun(t *testing.T) {
	t.Parallel()
	url := testkit.Require(t, testkit.RabbitMQ)
	prefix := testkit.Name(t)
	cleanup(t, url, prefix)
	for i := range 2 { // a rerun starts from empty queues
		var out bytes.Buffer
		if err := run(t.Context(), []string{"-prefix", prefix, "-reset"}, testkit.Getenv(t, map[string]string{"AMQP_URL": url}), &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, strings.ReplaceAll(out.String(), prefix, "orders"))
	}
	// The parked message keeps its body and carries the reason.
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(prefix+".parked", true)
	if err != nil || !ok || string(d.Body) != "order-8" || d.Headers["x-error"] != "card declined" {
		t.Fatalf("parked: ok=%t err=%v body=%q x-error=%v, want order-8 with its reason", ok, err, d.Body, d.Headers["x-error"])
	}
	// Without -reset nothing is purged: a parked message waits for a person.
	if err := ch.PublishWithContext(t.Context(), "", prefix+".parked", false, false, amqp.Publishing{Body: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"-prefix", prefix}, testkit.Getenv(t, map[string]string{"AMQP_URL": url}), &bytes.Buffer{}); err != nil {
		t.Fatalf("run without -reset: %v", err)
	}
	if d, ok, err := ch.Get(prefix+".parked", true); err != nil || !ok || string(d.Body) != "kept" {
		t.Fatalf("parked after a run without -reset: ok=%t err=%v body=%q, want the earlier message kept", ok, err, d.Body)
	}
}

// session returns a Session through a fresh fault proxy, counting its
// reconnects, and closes it when the test ends.
func session(t *testing.T, prefix string) (*Session, *faultproxy.Proxy, *atomic.Int32) {
	t.Helper()
	proxy, url := faultproxy.ForURL(t, testkit.Require(t, testkit.RabbitMQ))
	var reconnects atomic.Int32
	s := &Session{URL: url, Setup: func(ch *amqp.Channel) error { return setup(ch, prefix) },
		OnReconnect: func(error) { reconnects.Add(1) }}
	t.Cleanup(func() { _ = s.Close() })
	return s, proxy, &reconnects
}

// consume runs Consume in a goroutine until the test ends.
func consume(t *testing.T, s *Session, queue string, handle func(amqp.Delivery)) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Consume(ctx, s, queue, handle) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	})
}

func TestNoConfirmedMessageLostWhenTheConnectionIsCut(t *testing.T) {
	t.Parallel()
	prefix := testkit.Name(t)
	cleanup(t, testkit.Endpoint(testkit.RabbitMQ), prefix)
	pub, pubProxy, pubReconnects := session(t, prefix)
	sub, subProxy, subReconnects := session(t, prefix)

	var mu sync.Mutex
	got := map[string]int{}
	consume(t, sub, prefix+".jobs", func(d amqp.Delivery) {
		mu.Lock()
		got[string(d.Body)]++
		mu.Unlock()
		_ = d.Ack(false) // fails on a dead channel: the message comes back
	})
	const n = 30
	for i := range n {
		if i == 10 || i == 20 { // mid-stream: both connections die
			testkit.Eventually(t, 15*time.Second, func() error { // the consumer is connected
				mu.Lock()
				defer mu.Unlock()
				if len(got) < i {
					return fmt.Errorf("%d consumed", len(got))
				}
				return nil
			})
			pubProxy.Cut()
			subProxy.Cut()
			pubProxy.Restore(t)
			subProxy.Restore(t)
		}
		msg := amqp.Publishing{Body: fmt.Appendf(nil, "m%02d", i)}
		if err := PublishConfirmed(t.Context(), pub, "", prefix+".jobs", msg); err != nil {
			t.Fatalf("publish m%02d: %v", i, err)
		}
	}
	testkit.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			if got[fmt.Sprintf("m%02d", i)] == 0 {
				return fmt.Errorf("m%02d confirmed but not consumed (%d distinct consumed)", i, len(got))
			}
		}
		return nil
	})
	if pubReconnects.Load() < 2 || subReconnects.Load() < 1 {
		t.Errorf("reconnects: publisher %d, consumer %d; want the cuts to force them",
			pubReconnects.Load(), subReconnects.Load())
	}
}

func TestUnackedDeliveryComesBackAfterACut(t *testing.T) {
	t.Parallel()
	prefix := testkit.Name(t)
	cleanup(t, testkit.Endpoint(testkit.RabbitMQ), prefix)
	sub, proxy, _ := session(t, prefix)
	pub, _, _ := session(t, prefix)
	if err := PublishConfirmed(t.Context(), pub, "", prefix+".jobs", amqp.Publishing{Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	deliveries := make(chan amqp.Delivery, 4)
	consume(t, sub, prefix+".jobs", func(d amqp.Delivery) { deliveries <- d })
	first := <-deliveries // held, never acked
	if first.Redelivered {
		t.Fatal("first delivery already marked redelivered")
	}
	proxy.Cut()
	proxy.Restore(t)
	select {
	case d := <-deliveries:
		if string(d.Body) != "x" || !d.Redelivered {
			t.Fatalf("got %q redelivered=%t, want x again, redelivered", d.Body, d.Redelivered)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the unacked delivery did not come back after the reconnect")
	}
	if err := first.Ack(false); err == nil {
		t.Error("ack on the dead channel succeeded; want an error")
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	for _, url := range []string{
		"amqp://app:" + secret + "@127.0.0.1:1/",
		"amqp://app:" + secret + "@127.0.0.1:bad/",
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		err := run(ctx, []string{"-prefix", testkit.Name(t)}, testkit.Getenv(t, map[string]string{"AMQP_URL": url}), &bytes.Buffer{})
		cancel()
		if err == nil {
			t.Fatal("no error")
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(s, secret) {
				t.Errorf("password in error: %s", strings.ReplaceAll(s, secret, "[REDACTED]"))
			}
		}
	}
}

// TestPublishConfirmed_is_persistent_and_fails_when_unroutable: a confirmed
// message survives a broker restart, and one no queue takes is an error.
func TestPublishConfirmed_is_persistent_and_fails_when_unroutable(t *testing.T) {
	t.Parallel()
	prefix := testkit.Name(t)
	cleanup(t, testkit.Endpoint(testkit.RabbitMQ), prefix)
	s, _, _ := session(t, prefix)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := PublishConfirmed(ctx, s, "", prefix+".nowhere", amqp.Publishing{MessageId: "lost", Body: []byte("x")})
	if !errors.Is(err, errUnroutable) || !strings.Contains(err.Error(), "NO_ROUTE") {
		t.Fatalf("unroutable publish: err = %v, want errUnroutable with NO_ROUTE", err)
	}
	if err := PublishConfirmed(ctx, s, "", prefix+".jobs", amqp.Publishing{MessageId: "kept", Body: []byte("y")}); err != nil {
		t.Fatalf("routable publish after an unroutable one: %v", err)
	}
	ch, err := s.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, ok, err := ch.Get(prefix+".jobs", true)
	if err != nil || !ok || d.MessageId != "kept" || d.DeliveryMode != amqp.Persistent {
		t.Fatalf("get: ok=%t err=%v id=%q mode=%d, want kept, persistent", ok, err, d.MessageId, d.DeliveryMode)
	}
}

// TestConsume_cancels_its_consumer_on_return: once Consume returns, the
// broker delivers nothing more to the channel it leaves open.
func TestConsume_cancels_its_consumer_on_return(t *testing.T) {
	t.Parallel()
	prefix := testkit.Name(t)
	cleanup(t, testkit.Endpoint(testkit.RabbitMQ), prefix)
	s, _, _ := session(t, prefix)
	ch, err := s.Channel(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Consume(ctx, s, prefix+".jobs", func(amqp.Delivery) {}) }()
	testkit.Eventually(t, 10*time.Second, func() error {
		q, err := ch.QueueDeclarePassive(prefix+".jobs", true, false, false, false, nil)
		if err == nil && q.Consumers != 1 {
			err = fmt.Errorf("%d consumers", q.Consumers)
		}
		return err
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(prefix+".jobs", true, false, false, false, nil)
	if err != nil || q.Consumers != 0 {
		t.Fatalf("after Consume returned: %d consumers (err %v), want 0", q.Consumers, err)
	}
}

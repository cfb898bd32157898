package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	amqp "github.com/rabbitmq/amqp091-go"
)

// connect dials the stack's RabbitMQ (or url) and declares a fresh queue.
func connect(t *testing.T, url string) (*amqp.Connection, *amqp.Channel, string) {
	t.Helper()
	conn, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q := testkit.Name(t)
	if err := declare(ch, q); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteQueues(t, q) })
	return conn, ch, q
}

func deleteQueues(t *testing.T, q string) {
	conn, _, err := dial(testkit.Endpoint(testkit.RabbitMQ))
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
	for _, name := range []string{q, q + ".dead"} {
		if _, err := ch.QueueDelete(name, false, false, false); err != nil {
			t.Errorf("delete %s: %v", name, err)
		}
	}
}

func ready(t *testing.T, ch *amqp.Channel, q string) int {
	t.Helper()
	info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return info.Messages
}

func TestRun(t *testing.T) {
	t.Parallel()
	url := testkit.Require(t, testkit.RabbitMQ)
	q := testkit.Name(t)
	t.Cleanup(func() { deleteQueues(t, q) })
	for i := range 2 { // a rerun starts from an empty queue
		var out bytes.Buffer
		if err := run(t.Context(), []string{"-queue", q, "-reset"}, testkit.Getenv(t, map[string]string{"AMQP_URL": url}), &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, strings.ReplaceAll(out.String(), q, "jobs"))
	}
	conn, _, err := dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if n := ready(t, ch, q); n != 0 {
		t.Errorf("%s holds %d messages after the run, want 0", q, n)
	}
	// Without -reset nothing is purged: a message already in the dead queue
	// is still there for the run to read back.
	if err := ch.PublishWithContext(t.Context(), "", q+".dead", false, false, amqp.Publishing{Body: []byte("kept")}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-queue", q}, testkit.Getenv(t, map[string]string{"AMQP_URL": url}), &out); err != nil {
		t.Fatalf("run without -reset: %v", err)
	}
	if !strings.Contains(out.String(), `"kept"`) {
		t.Errorf("a run without -reset purged the dead queue:\n%s", out.String())
	}
}

// startWorker runs one worker until the test ends and returns its results
// and its error channel.
func startWorker(t *testing.T, conn *amqp.Connection, q string, prefetch int) (<-chan Result, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	results := make(chan Result)
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		errc <- work(ctx, conn, q, prefetch, results)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return results, errc
}

func TestBadMessagesAreDeadLetteredWithTheReason(t *testing.T) {
	t.Parallel()
	conn, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	cases := []struct {
		name, reason string
		body         []byte
	}{
		{"oversized", "oversized: 65537 bytes exceeds 65536", bytes.Repeat([]byte("x"), maxBody+1)},
		{"undecodable", "undecodable: unexpected end of JSON input", []byte(`{"type":`)},
		{"unknown_type", `unknown type "resize-video"`, []byte(`{"type":"resize-video","id":1}`)},
	}
	for _, c := range cases {
		// Raw publish: another producer that skips publishAll's size check.
		if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: c.body}); err != nil {
			t.Fatal(err)
		}
	}
	results, _ := startWorker(t, conn, q, 2)
	for range cases {
		<-results
	}
	for _, c := range cases {
		d, ok, err := ch.Get(q+".dead", true)
		if err != nil || !ok {
			t.Fatalf("%s: dead queue: ok=%t err=%v", c.name, ok, err)
		}
		if got := d.Headers["x-error"]; got != c.reason || !bytes.Equal(d.Body, c.body) {
			t.Errorf("%s: dead letter x-error=%q body %d bytes, want %q and the original body", c.name, got, len(d.Body), c.reason)
		}
	}
	if n := ready(t, ch, q); n != 0 {
		t.Errorf("%s holds %d messages, want 0", q, n)
	}
}

func TestPublishRefusesOversized(t *testing.T) {
	t.Parallel()
	_, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	_, err := publishAll(t.Context(), ch, q, [][]byte{[]byte(`{}`), make([]byte, maxBody+1)})
	if err == nil || !strings.Contains(err.Error(), "message 1: 65537 bytes exceeds 65536") {
		t.Fatalf("err = %v, want the oversized message named", err)
	}
	// Confirms are ordered: once this one is confirmed, anything the failed
	// call sent has reached the queue too.
	if _, err := publishAll(t.Context(), ch, q, [][]byte{[]byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if n := ready(t, ch, q); n != 1 {
		t.Errorf("%s holds %d messages, want only the later one: a batch with a bad message must publish none", q, n)
	}
}

func TestPoisonMessageDeadLetteredAfterDeliveryLimit(t *testing.T) {
	t.Parallel()
	_, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte("crash")}); err != nil {
		t.Fatal(err)
	}
	// A consumer that crashes on the message: nack with requeue, again and again.
	nacks := 0
	testkit.Eventually(t, 10*time.Second, func() error {
		d, ok, err := ch.Get(q, false)
		if err != nil {
			return err
		}
		if ok {
			nacks++
			if err := d.Nack(false, true); err != nil {
				return err
			}
			return errors.New("still redelivered")
		}
		if n := ready(t, ch, q+".dead"); n != 1 {
			return fmt.Errorf("dead queue holds %d", n)
		}
		return nil
	})
	if nacks > 7 {
		t.Errorf("delivered %d times, want the delivery limit (5) to stop the loop", nacks)
	}
}

func TestPrefetchBoundsUnackedDeliveries(t *testing.T) {
	t.Parallel()
	conn, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, 10)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"type":"thumbnail","id":%d}`, i)
	}
	if _, err := publishAll(t.Context(), ch, q, bodies); err != nil {
		t.Fatal(err)
	}
	// Nobody reads results: the worker acks one and blocks handing it
	// over. Prefetch 2 keeps 2 more unacked; 7 stay in the queue.
	startWorker(t, conn, q, 2)
	testkit.Eventually(t, 5*time.Second, func() error {
		if n := ready(t, ch, q); n != 7 {
			return fmt.Errorf("%d ready, want 7", n)
		}
		return nil
	})
}

func TestUnreadReturnsDoNotStallConfirms(t *testing.T) {
	t.Parallel()
	_, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := DrainReturns(ch)
	bodies := make([][]byte, 100) // far more returns than the listener buffers
	for i := range bodies {
		bodies[i] = []byte(`{}`)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n, err := publishAll(ctx, ch, q+".nowhere", bodies)
	if err != nil || n != len(bodies) {
		t.Fatalf("confirmed %d, err %v: returns not drained stall the connection", n, err)
	}
	if err := ch.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := returns.Wait(ctx)
	if err != nil || len(got) != len(bodies) {
		t.Fatalf("%d returns, err %v, want %d", len(got), err, len(bodies))
	}
}

func TestConfirmWaitEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	proxy, url := faultproxy.ForURL(t, testkit.Require(t, testkit.RabbitMQ))
	_, ch, q := connect(t, url)
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	proxy.Blackhole(t)
	t.Cleanup(proxy.Cut)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err := publishAll(ctx, ch, q, [][]byte{[]byte(`{}`)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the confirm wait to end with the context", err)
	}
}

func TestWorkerReportsLostDeliveries(t *testing.T) {
	t.Parallel()
	conn, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	_, errc := startWorker(t, conn, q, 1)
	testkit.Eventually(t, 5*time.Second, func() error {
		info, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
		if err != nil || info.Consumers != 1 {
			return fmt.Errorf("consumers=%d err=%w", info.Consumers, err)
		}
		return nil
	})
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "deliveries stopped") {
			t.Fatalf("worker returned %v, want an error naming the stopped deliveries", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker still running after its queue was deleted")
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	for _, url := range []string{
		"amqp://app:" + secret + "@127.0.0.1:1/",    // nothing listens
		"amqp://app:" + secret + "@127.0.0.1:bad/",  // url.Parse fails
		"http://app:" + secret + "@127.0.0.1:5672/", // not amqp
	} {
		err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{"AMQP_URL": url}), &bytes.Buffer{})
		if err == nil {
			t.Fatalf("%s: no error", strings.ReplaceAll(url, secret, "[REDACTED]"))
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(s, secret) {
				t.Errorf("password in error: %s", strings.ReplaceAll(s, secret, "[REDACTED]"))
			}
		}
	}
}

func TestRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-workers", "0"}, {"-workers", "x"}, {"-nope"}} {
		err := run(t.Context(), args, testkit.Getenv(t, nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(args[len(args)-1], "-")) {
			t.Errorf("%v: err = %v, want one naming the bad value", args, err)
		}
	}
}

// TestDeadLetterTellsItsReturnFromOthers: a return of another message that
// is still waiting does not fail a dead letter that was stored; the dead
// letter's own return (no dead queue) does, and the delivery is requeued.
func TestDeadLetterTellsItsReturnFromOthers(t *testing.T) {
	t.Parallel()
	_, ch, q := connect(t, testkit.Require(t, testkit.RabbitMQ))
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := DrainReturns(ch)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	publish := func(key, id string) {
		t.Helper()
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", key, true, false,
			amqp.Publishing{MessageId: id, Body: []byte(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			t.Fatalf("confirm %s: %t %v", id, ok, err)
		}
	}
	publish(q+".nowhere", "other") // returned, and nobody takes it yet
	publish(q, "m-1")
	d, ok, err := ch.Get(q, false)
	if err != nil || !ok {
		t.Fatalf("get: %t %v", ok, err)
	}
	if err := deadLetter(ctx, ch, returns, q+".dead", d, errors.New("bad")); err != nil {
		t.Fatalf("dead letter stored, yet: %v", err)
	}
	if n := ready(t, ch, q+".dead"); n != 1 {
		t.Fatalf("dead queue holds %d, want 1", n)
	}
	if _, ok := returns.Take("other"); !ok {
		t.Error("the other message's return was lost")
	}

	publish(q, "m-2")
	if d, ok, err = ch.Get(q, false); err != nil || !ok {
		t.Fatalf("get: %t %v", ok, err)
	}
	if err := deadLetter(ctx, ch, returns, q+".missing", d, errors.New("bad")); err == nil || !strings.Contains(err.Error(), "NO_ROUTE") {
		t.Fatalf("dead letter to no queue: err = %v, want the return reported", err)
	}
	testkit.Eventually(t, 5*time.Second, func() error { // the nack is asynchronous
		if n := ready(t, ch, q); n != 1 {
			return fmt.Errorf("queue holds %d, want the delivery requeued", n)
		}
		return nil
	})
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	amqp "github.com/rabbitmq/amqp091-go"
)

type env struct {
	pool   *pgxpool.Pool
	conn   *amqp.Connection
	t      Tables
	prefix string
}

// setup gives a test its own tables and queues (named after the test) and
// removes them when it ends.
func setup(t *testing.T) env {
	t.Helper()
	prefix := testkit.Name(t)
	pool, err := pgxpool.New(t.Context(), testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dial(testkit.Require(t, testkit.RabbitMQ))
	if err != nil {
		t.Fatal(err)
	}
	e := env{pool: pool, conn: conn, t: tables(prefix), prefix: prefix}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tb := e.t
		if _, err := pool.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s, %s, %s, %s",
			pgx.Identifier{tb.Orders}.Sanitize(), pgx.Identifier{tb.Outbox}.Sanitize(),
			pgx.Identifier{tb.Processed}.Sanitize(), pgx.Identifier{tb.Ledger}.Sanitize())); err != nil {
			t.Error(err)
		}
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(prefix, false, false, false)
			_, _ = ch.QueueDelete(prefix+".dead", false, false, false)
		}
		_ = conn.Close()
		pool.Close()
	})
	return e
}

func (e env) prepare(t *testing.T) *amqp.Channel {
	t.Helper()
	if err := e.t.create(t.Context(), e.pool, false); err != nil {
		t.Fatal(err)
	}
	ch := e.channel(t)
	if _, err := ch.QueueDeclare(e.prefix, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	return ch
}

func (e env) channel(t *testing.T) *amqp.Channel {
	t.Helper()
	ch, err := e.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func (e env) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e env) unsent(t *testing.T) int {
	return e.count(t, fmt.Sprintf("SELECT count(*) FROM %s WHERE sent_at IS NULL", pgx.Identifier{e.t.Outbox}.Sanitize()))
}

func (e env) ledger(t *testing.T) int {
	return e.count(t, fmt.Sprintf("SELECT count(*) FROM %s", pgx.Identifier{e.t.Ledger}.Sanitize()))
}

func TestRun(t *testing.T) {
	t.Parallel()
	e := setup(t)
	getenv := testkit.Getenv(t, nil)
	for i := range 2 { // a rerun starts from fresh tables and empty queues
		var out bytes.Buffer
		if err := run(t.Context(), []string{"-prefix", e.prefix, "-reset"}, getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, strings.ReplaceAll(out.String(), e.prefix, "outbox_demo"))
	}
	if n := e.unsent(t); n != 0 {
		t.Errorf("%d outbox rows unsent, want 0", n)
	}
	if n := e.ledger(t); n != 2 {
		t.Errorf("ledger holds %d rows, want 2", n)
	}
	d, ok, err := e.channel(t).Get(e.prefix+".dead", true)
	if err != nil || !ok || d.MessageId != "bad-1" || d.Headers["x-error"] != `unknown type "order.cancelled"` {
		t.Fatalf("dead queue: ok=%t err=%v id=%q x-error=%v", ok, err, d.MessageId, d.Headers["x-error"])
	}
	// Without -reset nothing that was there is dropped or purged.
	if _, err := e.pool.Exec(t.Context(), fmt.Sprintf(`INSERT INTO %s (id, cents) VALUES ('kept', 1)`,
		pgx.Identifier{e.t.Orders}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	if err := e.channel(t).PublishWithContext(t.Context(), "", e.prefix+".dead", false, false,
		amqp.Publishing{MessageId: "kept", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"-prefix", e.prefix}, getenv, &bytes.Buffer{}); err != nil {
		t.Fatalf("run without -reset: %v", err)
	}
	if n := e.count(t, fmt.Sprintf(`SELECT count(*) FROM %s WHERE id = 'kept'`, pgx.Identifier{e.t.Orders}.Sanitize())); n != 1 {
		t.Error("a run without -reset dropped the orders table")
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if q, err := e.channel(t).QueueDeclarePassive(e.prefix+".dead", true, false, false, false, nil); err != nil || q.Messages < 2 {
			return fmt.Errorf("dead queue: %d messages, want the earlier ones kept (%w)", q.Messages, err)
		}
		return nil
	})
}

func TestOrderAndEventCommitTogether(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.prepare(t)
	// The outbox insert fails after the order insert succeeded.
	if _, err := e.pool.Exec(t.Context(), fmt.Sprintf(
		`ALTER TABLE %s ADD CONSTRAINT no_o9 CHECK (message_id <> 'order.placed:o-9')`,
		pgx.Identifier{e.t.Outbox}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	if err := PlaceOrder(t.Context(), e.pool, e.t, "o-9", 100); err == nil {
		t.Fatal("PlaceOrder succeeded; want the outbox insert to fail")
	}
	if n := e.count(t, fmt.Sprintf("SELECT count(*) FROM %s", pgx.Identifier{e.t.Orders}.Sanitize())); n != 0 {
		t.Fatalf("%d orders stored without their event, want 0", n)
	}
}

func TestRelayCrashAfterPublishIsAppliedOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ch := e.prepare(t)
	for i := range 5 {
		if err := PlaceOrder(t.Context(), e.pool, e.t, fmt.Sprintf("o-%d", i), 100); err != nil {
			t.Fatal(err)
		}
	}
	relay, err := NewRelay(e.pool, e.t, e.channel(t), e.prefix, 10)
	if err != nil {
		t.Fatal(err)
	}
	crash := errors.New("crash")
	relay.AfterPublish = func(int) error { return crash }
	if _, err := relay.RunOnce(t.Context()); !errors.Is(err, crash) {
		t.Fatalf("first run: %v, want the crash", err)
	}
	if n := e.unsent(t); n != 5 {
		t.Fatalf("%d unsent after the crash, want 5", n)
	}
	relay.AfterPublish = nil
	if n, err := relay.RunOnce(t.Context()); err != nil || n != 5 {
		t.Fatalf("second run: %d sent, err %v", n, err)
	}
	var out bytes.Buffer
	if err := ConsumeAll(t.Context(), e.pool, e.t, ch, e.prefix, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "applied"); got != 5 {
		t.Errorf("%d applied, want 5:\n%s", got, out.String())
	}
	if got := strings.Count(out.String(), "duplicate"); got != 5 {
		t.Errorf("%d duplicates, want 5 (each message was published twice):\n%s", got, out.String())
	}
	if n := e.ledger(t); n != 5 {
		t.Errorf("ledger holds %d rows, want 5: each effect once", n)
	}
}

func TestRelaysSkipRowsAnotherRelayHolds(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.prepare(t)
	for i := range 3 {
		if err := PlaceOrder(t.Context(), e.pool, e.t, fmt.Sprintf("o-%d", i), 100); err != nil {
			t.Fatal(err)
		}
	}
	a, err := NewRelay(e.pool, e.t, e.channel(t), e.prefix, 2)
	if err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	a.AfterPublish = func(int) error { close(holding); <-release; return nil }
	var wg sync.WaitGroup
	var aSent int
	var aErr error
	wg.Go(func() { aSent, aErr = a.RunOnce(t.Context()) })
	<-holding // a holds o-0 and o-1, published, not yet marked

	b, err := NewRelay(e.pool, e.t, e.channel(t), e.prefix, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	bSent, err := b.RunOnce(ctx)
	close(release)
	wg.Wait()
	if err != nil || bSent != 1 {
		t.Fatalf("relay b: %d sent, err %v; want o-2 alone, without waiting for a's locks", bSent, err)
	}
	if aErr != nil || aSent != 2 {
		t.Fatalf("relay a: %d sent, err %v", aSent, aErr)
	}
	if n := e.unsent(t); n != 0 {
		t.Errorf("%d unsent, want 0", n)
	}
}

func TestBadMessagesAreDeadLetteredWithTheReason(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ch := e.prepare(t)
	cases := []struct {
		name   string
		msg    amqp.Publishing
		reason string
	}{
		{"no_message_id", amqp.Publishing{Body: []byte(`{}`)}, "no message id: cannot deduplicate"},
		{"oversized", amqp.Publishing{MessageId: "m-big", Body: make([]byte, 64<<10+1)}, "oversized: 65537 bytes"},
		{"undecodable", amqp.Publishing{MessageId: "m-bad", Body: []byte(`{"type"`)}, "undecodable: unexpected end of JSON input"},
		{"unknown_type", amqp.Publishing{MessageId: "m-x", Body: []byte(`{"type":"order.cancelled"}`)}, `unknown type "order.cancelled"`},
	}
	for _, c := range cases {
		if err := ch.PublishWithContext(t.Context(), "", e.prefix, false, false, c.msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	if err := ConsumeAll(t.Context(), e.pool, e.t, ch, e.prefix, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		d, ok, err := ch.Get(e.prefix+".dead", true)
		if err != nil || !ok {
			t.Fatalf("%s: dead queue ok=%t err=%v", c.name, ok, err)
		}
		if d.DeliveryMode != amqp.Persistent {
			t.Errorf("%s: dead letter delivery mode %d, want persistent", c.name, d.DeliveryMode)
		}
		if d.Headers["x-error"] != c.reason || len(d.Body) != len(c.msg.Body) {
			t.Errorf("%s: x-error=%v body %d bytes, want %q and the original body", c.name, d.Headers["x-error"], len(d.Body), c.reason)
		}
	}
	if n := e.ledger(t); n != 0 {
		t.Errorf("ledger holds %d rows, want 0", n)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55"
	for _, over := range []map[string]string{
		{"DATABASE_URL": "postgres://app:" + secret + "@127.0.0.1:1/app?connect_timeout=1"},
		{"DATABASE_URL": "postgres://app:" + secret + "@127.0.0.1:bad/app"},
		{"AMQP_URL": "amqp://app:" + secret + "@127.0.0.1:1/"},
		{"AMQP_URL": "amqp://app:" + secret + "@127.0.0.1:bad/"},
	} {
		err := run(t.Context(), []string{"-prefix", testkit.Name(t)}, testkit.Getenv(t, over), &bytes.Buffer{})
		if err == nil {
			t.Fatal("no error")
		}
		testkit.NoSecret(t, err, secret)
	}
}

func TestUnroutableEventsStayUnsent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.prepare(t)
	if err := PlaceOrder(t.Context(), e.pool, e.t, "o-1", 100); err != nil {
		t.Fatal(err)
	}
	// No queue by that name: the broker confirms the message and returns it.
	relay, err := NewRelay(e.pool, e.t, e.channel(t), e.prefix+".missing", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := relay.RunOnce(t.Context()); err == nil || !strings.Contains(err.Error(), "returned 312 NO_ROUTE") {
		t.Fatalf("err = %v, want the return reported", err)
	}
	if n := e.unsent(t); n != 1 {
		t.Fatalf("%d unsent, want 1: an unroutable event must not be marked sent", n)
	}
}

// TestTransientApplyErrorsRequeue: with PostgreSQL unreachable the message
// goes back to the queue and nothing is dead-lettered.
func TestTransientApplyErrorsRequeue(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ch := e.prepare(t)
	if err := ch.PublishWithContext(t.Context(), "", e.prefix, false, false, amqp.Publishing{
		MessageId: "m-1", Body: []byte(`{"type":"order.placed","order_id":"o-1","cents":100}`)}); err != nil {
		t.Fatal(err)
	}
	down, err := pgxpool.New(t.Context(), testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	down.Close() // every query fails: closed pool
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	if err := ConsumeAll(t.Context(), down, e.t, ch, e.prefix, &bytes.Buffer{}); err == nil {
		t.Fatal("ConsumeAll succeeded with the database down")
	}
	if q, err := ch.QueueDeclarePassive(e.prefix+".dead", true, false, false, false, nil); err == nil && q.Messages > 0 {
		t.Errorf("%d messages dead-lettered during an outage", q.Messages)
	}
	ch = e.channel(t) // a failed passive declare closes the channel
	d, ok, err := ch.Get(e.prefix, true)
	if err != nil || !ok || d.MessageId != "m-1" || !d.Redelivered {
		t.Fatalf("get: ok=%t err=%v id=%q redelivered=%t, want m-1 back in the queue", ok, err, d.MessageId, d.Redelivered)
	}
}

// TestConfirmedSaysWhatFailed: a nack has no error to wrap.
func TestConfirmedSaysWhatFailed(t *testing.T) {
	t.Parallel()
	if err := confirmed(true, nil); err != nil {
		t.Errorf("ack: %v", err)
	}
	for _, err := range []error{confirmed(false, nil), confirmed(false, context.Canceled)} {
		if err == nil || strings.Contains(err.Error(), "%!") {
			t.Errorf("err = %v, want a readable error", err)
		}
	}
}

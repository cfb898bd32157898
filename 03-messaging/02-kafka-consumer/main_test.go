package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/segmentio/kafka-go"

	"github.com/go-course/part4-infrastructure/03-messaging/internal/kafkatest"
	"github.com/go-course/part4-infrastructure/testkit"
)

// Environment of the child process TestKilledMidBatch starts and kills.
const (
	childTopic = "CONSUMER_TEST_CHILD_TOPIC"
	childCrash = "CONSUMER_TEST_CHILD_CRASH_AFTER"
)

func TestMain(m *testing.M) {
	if topic := os.Getenv(childTopic); topic != "" {
		os.Exit(child(topic))
	}
	os.Exit(m.Run())
}

// child consumes topic and kills its own process (SIGKILL: no deferred
// Close, no final commit) right after the effect of the Nth message and
// before that message's commit.
func child(topic string) int {
	crashAfter, err := strconv.ParseInt(os.Getenv(childCrash), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer pool.Close()
	pay := &Payments{Pool: pool, Group: topic + "-billing"}
	c := NewConsumer(strings.Split(os.Getenv("KAFKA_BROKERS"), ","), topic, pay.Group)
	var n atomic.Int64
	c.Handle = func(ctx context.Context, m kafka.Message) error {
		o, err := Decode(m)
		if err != nil {
			return err
		}
		err = pay.Apply(ctx, o)
		if n.Add(1) == crashAfter {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal arrives
		}
		return err
	}
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return 3 // never reached when the crash happens
}

type env struct {
	brokers []string
	pool    *pgxpool.Pool
	getenv  func(string) string
}

func setup(t *testing.T) env {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	dsn := testkit.Require(t, testkit.Postgres)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := (&Payments{Pool: pool}).CreateTable(t.Context()); err != nil {
		t.Fatal(err)
	}
	return env{brokers, pool, testkit.Getenv(t, map[string]string{
		"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dsn})}
}

// topics makes topic, its retry and dead-letter topics, deleted afterwards.
func (e env) topics(t *testing.T, topic string, partitions int) {
	t.Helper()
	if err := CreateTopics(t.Context(), e.brokers, partitions, topic, topic+".retry", topic+".dlq"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{topic, topic + ".retry", topic + ".dlq"} {
		kafkatest.DeleteOnCleanup(t, e.brokers, name)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := (&Payments{Pool: e.pool, Group: topic + "-billing"}).Reset(ctx); err != nil {
			t.Logf("clean up payments: %v", err)
		}
	})
}

func produce(t *testing.T, brokers []string, msgs ...kafka.Message) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Balancer: kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(t.Context(), msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func orders(topic, prefix string, n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("%s-%d", prefix, i)
		msgs[i] = kafka.Message{Topic: topic, Key: []byte(id),
			Value:   fmt.Appendf(nil, `{"order_id":%q,"amount_cents":%d}`, id, i+1),
			Headers: []kafka.Header{{Key: "type", Value: []byte("order.paid")}}}
	}
	return msgs
}

// consume runs c until stop is called, which shuts it down and waits.
func consume(t *testing.T, c *Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consumer: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestRun checks the README's output, the dead-letter topic's headers, and
// that the shutdown committed everything: a new member of the group after
// the run gets only a new message, nothing replayed.
func TestRun(t *testing.T) {
	e := setup(t)
	topic := testkit.Name(t)
	e.topics(t, topic, 3)
	var out strings.Builder
	if err := run(t.Context(), []string{"-topic", topic}, e.getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, strings.ReplaceAll(out.String(), topic, "orders-demo"))

	dlq := map[string]kafka.Message{}
	for _, m := range kafkatest.ReadAll(t, e.brokers, topic+".dlq") {
		dlq[string(m.Key)] = m
	}
	for key, want := range map[string][2]string{
		"bad-1": {"1", "decode order: invalid character"},
		"o-10":  {"1", `unknown message type "order.refunded"`},
		"o-8":   {"3", "charge o-8: payment gateway timeout"},
	} {
		m, ok := dlq[key]
		errHeader, _ := header(m, HeaderError)
		attempt, _ := header(m, HeaderAttempt)
		origin, _ := header(m, HeaderOrigin)
		if !ok || attempt != want[0] || !strings.HasPrefix(errHeader, want[1]) || !strings.HasPrefix(origin, topic+"/") {
			t.Errorf("DLQ %s: present=%t attempt=%q error=%q origin=%q; want attempt %s, error %q, origin in %s",
				key, ok, attempt, errHeader, origin, want[0], want[1], topic)
		}
	}
	if len(dlq) != 3 {
		t.Errorf("DLQ holds %d messages, want 3", len(dlq))
	}

	c := NewConsumer(e.brokers, topic, topic+"-billing")
	defer c.Out.Close()
	var seen []string
	var mu sync.Mutex
	c.Handle = func(_ context.Context, m kafka.Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(m.Key))
		return nil
	}
	stop := consume(t, c)
	produce(t, e.brokers, kafka.Message{Topic: topic, Key: []byte("after-restart")})
	testkit.Eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return errors.New("nothing consumed yet")
		}
		return nil
	})
	stop()
	if len(seen) != 1 || seen[0] != "after-restart" {
		t.Errorf("after a clean shutdown the group consumed %v, want only [after-restart]", seen)
	}
}

// TestKilledMidBatch: a consumer process is killed between an effect and its
// commit; a restarted member replays the uncommitted messages, and the
// unique key keeps each payment once.
func TestKilledMidBatch(t *testing.T) {
	e := setup(t)
	topic := testkit.Name(t)
	e.topics(t, topic, 3)
	const n = 60
	produce(t, e.brokers, orders(topic, "k", n)...)

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childTopic+"="+topic, childCrash+"=25",
		"KAFKA_BROKERS="+strings.Join(e.brokers, ","), "DATABASE_URL="+e.getenv("DATABASE_URL"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
	}

	pay := &Payments{Pool: e.pool, Group: topic + "-billing"}
	c := NewConsumer(e.brokers, topic, pay.Group)
	defer c.Out.Close()
	c.Handle = func(ctx context.Context, m kafka.Message) error {
		o, err := Decode(m)
		if err != nil {
			return err
		}
		return pay.Apply(ctx, o)
	}
	stop := consume(t, c)
	testkit.Eventually(t, 45*time.Second, func() error {
		rows, _, _, err := pay.Totals(t.Context())
		if err == nil && rows != n {
			err = fmt.Errorf("%d of %d payments", rows, n)
		}
		return err
	})
	stop()
	rows, cents, deliveries, err := pay.Totals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rows != n || cents != n*(n+1)/2 {
		t.Errorf("%d payments of %d cents, want %d of %d", rows, cents, n, n*(n+1)/2)
	}
	if deliveries <= n {
		t.Errorf("%d deliveries for %d messages: the killed member's uncommitted work was not replayed", deliveries, n)
	}
	t.Logf("%d messages, %d deliveries: %d replayed and absorbed by the unique key", n, deliveries, deliveries-n)
}

// TestTwoMembersSplitPartitions: two members of one group each own some of
// the four partitions.
func TestTwoMembersSplitPartitions(t *testing.T) {
	e := setup(t)
	topic := testkit.Name(t)
	e.topics(t, topic, 4)
	var mu sync.Mutex
	owner := map[string]string{} // message key → member
	for _, name := range []string{"a", "b"} {
		c := NewConsumer(e.brokers, topic, topic+"-billing")
		defer c.Out.Close()
		c.Handle = func(context.Context, kafka.Message) error { return nil }
		c.Report = func(o Outcome) {
			mu.Lock()
			defer mu.Unlock()
			owner[string(o.Msg.Key)] = name
		}
		consume(t, c)
	}
	// One key per partition, by the producer's own hash.
	var keys []string
	seen := map[int]bool{}
	for i := 0; len(keys) < 4; i++ {
		k := fmt.Sprintf("key-%d", i)
		if p := (kafka.Murmur2Balancer{}).Balance(kafka.Message{Key: []byte(k)}, 0, 1, 2, 3); !seen[p] {
			seen[p] = true
			keys = append(keys, k)
		}
	}
	// Rounds of one message per partition until a round is split between
	// both members (the first round may arrive before the second one joined).
	round := 0
	var msgs []kafka.Message
	testkit.Eventually(t, 45*time.Second, func() error {
		if msgs == nil {
			round++
			for _, k := range keys {
				msgs = append(msgs, kafka.Message{Topic: topic, Key: fmt.Appendf(nil, "%s/r%d", k, round)})
			}
			produce(t, e.brokers, msgs...)
		}
		mu.Lock()
		members := map[string]int{}
		for _, m := range msgs {
			if who, ok := owner[string(m.Key)]; ok {
				members[who]++
			}
		}
		mu.Unlock()
		if members["a"]+members["b"] < len(msgs) {
			return fmt.Errorf("round %d: %v of %d handled", round, members, len(msgs))
		}
		if members["a"] == 0 || members["b"] == 0 {
			msgs = nil // next round
			return fmt.Errorf("round %d handled by %v only", round, members)
		}
		return nil
	})
}

// TestShutdown_finishes_the_message_in_hand: a shutdown that begins while a
// message is being handled lets it finish and commits it, instead of
// failing it into the retry topic.
func TestShutdown_finishes_the_message_in_hand(t *testing.T) {
	e := setup(t)
	topic := testkit.Name(t)
	e.topics(t, topic, 1)
	c := NewConsumer(e.brokers, topic, topic+"-billing")
	defer c.Out.Close()
	started, release := make(chan struct{}), make(chan struct{})
	var results []Result
	c.Handle = func(ctx context.Context, _ kafka.Message) error {
		close(started)
		<-release
		return ctx.Err()
	}
	c.Report = func(o Outcome) { results = append(results, o.Result) }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	produce(t, e.brokers, kafka.Message{Topic: topic, Key: []byte("slow")})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("message never handled")
	}
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
	if len(results) != 1 || results[0] != Applied {
		t.Errorf("results %v, want [applied]", results)
	}
	if msgs := kafkatest.ReadAll(t, e.brokers, topic+".retry"); len(msgs) != 0 {
		t.Errorf("retry topic holds %d messages, want 0", len(msgs))
	}
}

func TestDecode_rejects_bad_input_as_permanent(t *testing.T) {
	typ := []kafka.Header{{Key: "type", Value: []byte("order.paid")}}
	for name, m := range map[string]kafka.Message{
		"unknown_type":   {Value: []byte(`{"order_id":"o","amount_cents":1}`)},
		"not_json":       {Value: []byte(`{`), Headers: typ},
		"missing_id":     {Value: []byte(`{"amount_cents":1}`), Headers: typ},
		"negative_value": {Value: []byte(`{"order_id":"o","amount_cents":-1}`), Headers: typ},
	} {
		t.Run(name, func(t *testing.T) {
			var p permanentError
			if _, err := Decode(m); !errors.As(err, &p) {
				t.Errorf("Decode = %v, want a permanent error", err)
			}
		})
	}
}

// TestRetry_waits_RetryDelay: a message from the retry topic is handled no
// sooner than RetryDelay after it was written there (a lower bound only).
func TestRetry_waits_RetryDelay(t *testing.T) {
	e := setup(t)
	topic := testkit.Name(t)
	e.topics(t, topic, 1)
	c := NewConsumer(e.brokers, topic, topic+"-billing")
	defer c.Out.Close()
	waited := make(chan time.Duration, 1)
	c.Handle = func(_ context.Context, m kafka.Message) error {
		if attempts(m) == 0 {
			return errors.New("first attempt fails")
		}
		waited <- time.Since(m.Time)
		return nil
	}
	consume(t, c)
	produce(t, e.brokers, kafka.Message{Topic: topic, Key: []byte("k")})
	select {
	case d := <-waited:
		if d < c.RetryDelay {
			t.Errorf("retried %s after the retry record, want at least %s", d, c.RetryDelay)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("message never retried")
	}
}

// TestRun_keeps_the_database_password_out_of_errors: an unreachable and a
// malformed DATABASE_URL both fail with errors that do not carry the password.
func TestRun_keeps_the_database_password_out_of_errors(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	const secret = "s3cr3t-Pa55w0rd"
	for name, dsn := range map[string]string{
		"unreachable": "postgres://app:" + secret + "@127.0.0.1:1/app?connect_timeout=1",
		"malformed":   "postgres://app:" + secret + "@127.0.0.1:notaport/app",
	} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			getenv := testkit.Getenv(t, map[string]string{
				"KAFKA_BROKERS": strings.Join(brokers, ","), "DATABASE_URL": dsn})
			err := run(t.Context(), []string{"-topic", testkit.Name(t)}, getenv, &out)
			if err == nil {
				t.Fatal("run succeeded without a database")
			}
			testkit.NoSecret(t, err, secret)
			if strings.Contains(out.String(), secret) {
				t.Errorf("password leaked: %s", out.String())
			}
		})
	}
}

package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/go-course/part4-infrastructure/testkit"
)

func connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(testkit.Require(t, testkit.NATS), nats.Timeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// newStream creates a stream with the example's config under a unique
// name and deletes it when the test ends.
func newStream(t testing.TB, js jetstream.JetStream) (string, jetstream.Stream) {
	t.Helper()
	name := strings.ToUpper(testkit.Name(t))
	s, err := js.CreateStream(t.Context(), StreamConfig(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteStream(t, js, name) })
	return name, s
}

func deleteStream(t testing.TB, js jetstream.JetStream, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Logf("delete stream %s: %v", name, err)
	}
}

// TestRun checks the README's output, then the dead-letter subject: both
// failed orders are there with the reason in X-Error.
func TestRun(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name := strings.ToUpper(testkit.Name(t))
	t.Cleanup(func() {
		deleteStream(t, js, name)
		deleteStream(t, js, "KV_"+name+"_STOCK")
	})
	var out strings.Builder
	getenv := testkit.Getenv(t, map[string]string{"NATS_URL": testkit.Require(t, testkit.NATS)})
	if err := run(t.Context(), []string{"-stream", name, "-reset"}, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, strings.ReplaceAll(out.String(), name, "DEMO_ORDERS"))

	s, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	dlq, err := s.OrderedConsumer(t.Context(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{name + ".dlq.>"}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := dlq.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for m := range batch.Messages() {
		reasons = append(reasons, m.Headers().Get("X-Original-Seq")+" "+m.Headers().Get("X-Error"))
	}
	want := "4 decode order: invalid character 'n' looking for beginning of object key string|5 max deliveries (3) reached"
	if got := strings.Join(reasons, "|"); got != want {
		t.Errorf("DLQ holds %q, want %q", got, want)
	}

	// Without -reset the stream is not deleted: same creation time after a
	// run (which cannot finish: the orders were consumed already).
	before, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	_ = run(ctx, []string{"-stream", name}, getenv, io.Discard)
	after, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatalf("stream gone after a run without -reset: %v", err)
	}
	if c := after.CachedInfo().Created; !c.Equal(before.Created) || after.CachedInfo().State.Msgs < before.State.Msgs {
		t.Errorf("a run without -reset recreated the stream (created %s, was %s)", c, before.Created)
	}
}

// TestPublish_same_msg_id_is_stored_once, even with another payload.
func TestPublish_same_msg_id_is_stored_once(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name, s := newStream(t, js)
	var dup []bool
	for _, payload := range []string{"v1", "v1", "v2"} {
		ack, err := js.Publish(t.Context(), name+".orders.new", []byte(payload), jetstream.WithMsgID("o-1"))
		if err != nil {
			t.Fatal(err)
		}
		dup = append(dup, ack.Duplicate)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 || dup[0] || !dup[1] || !dup[2] {
		t.Errorf("stored %d messages, duplicate flags %v; want 1 and [false true true]", info.State.Msgs, dup)
	}
}

// TestPublish_rejects_a_message_over_MaxMsgSize with an error and stores
// nothing.
func TestPublish_rejects_a_message_over_MaxMsgSize(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name, s := newStream(t, js)
	_, err := js.Publish(t.Context(), name+".orders.new", make([]byte, 100<<10))
	if !errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		t.Errorf("publish 100 KiB = %v, want ErrStreamMessageExceedsMaximum", err)
	}
	if info, err := s.Info(t.Context()); err != nil || info.State.Msgs != 0 {
		t.Errorf("stream holds %v messages (%v), want 0", info.State.Msgs, err)
	}
}

// TestUnacked_is_redelivered_after_AckWait: a fetched message that is not
// acked comes back with NumDelivered 2.
func TestUnacked_is_redelivered_after_AckWait(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name, s := newStream(t, js)
	if _, err := js.Publish(t.Context(), name+".orders.new", []byte("o-1")); err != nil {
		t.Fatal(err)
	}
	cons, err := s.CreateOrUpdateConsumer(t.Context(), ConsumerConfig(name))
	if err != nil {
		t.Fatal(err)
	}
	first := fetchOne(t, cons, 5*time.Second) // not acked
	second := fetchOne(t, cons, 10*time.Second)
	m1, _ := first.Metadata()
	m2, _ := second.Metadata()
	if m1 == nil || m2 == nil || m2.Sequence.Stream != m1.Sequence.Stream || m2.NumDelivered != 2 {
		t.Fatalf("second fetch %+v, want the same message, delivery 2", m2)
	}
	if err := second.DoubleAck(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second)); err == nil {
		for m := range b.Messages() {
			t.Errorf("acked message delivered again: %s", m.Data())
		}
	}
}

// TestInProgress_extends_AckWait: a handler that works longer than AckWait
// but reports progress is not redelivered.
func TestInProgress_extends_AckWait(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name, s := newStream(t, js)
	if _, err := js.Publish(t.Context(), name+".orders.new", []byte("slow")); err != nil {
		t.Fatal(err)
	}
	cons, err := s.CreateOrUpdateConsumer(t.Context(), ConsumerConfig(name))
	if err != nil {
		t.Fatal(err)
	}
	m := fetchOne(t, cons, 5*time.Second)
	for range 4 { // 4 × 300 ms of work: longer than AckWait (1 s)
		time.Sleep(300 * time.Millisecond)
		if err := m.InProgress(); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.DoubleAck(t.Context()); err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || info.AckFloor.Stream != 1 {
		t.Errorf("redelivered %d, ack floor %d; want 0 and 1", info.NumRedelivered, info.AckFloor.Stream)
	}
}

// TestKV_stale_revision_is_rejected and the value stays the winner's.
func TestKV_stale_revision_is_rejected(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	bucket := testkit.Name(t)
	kv, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteStream(t, js, "KV_"+bucket) })
	rev, err := kv.Create(t.Context(), "k", []byte("10"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(t.Context(), "k", []byte("9"), rev); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(t.Context(), "k", []byte("7"), rev); !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		t.Errorf("stale update = %v, want ErrKeyRevisionMismatch", err)
	}
	if e, err := kv.Get(t.Context(), "k"); err != nil || string(e.Value()) != "9" {
		t.Errorf("value after the stale update: %v %v, want 9", e, err)
	}
}

func fetchOne(t *testing.T, c jetstream.Consumer, wait time.Duration) jetstream.Msg {
	t.Helper()
	b, err := c.Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatal(err)
	}
	for m := range b.Messages() {
		return m
	}
	t.Fatalf("no message within %s (%v)", wait, b.Error())
	return nil
}

// TestRun_malformed_NATS_URL_keeps_the_password_out: url.Parse errors quote
// the whole URL; run must fail without the password in its error chain.
func TestRun_malformed_NATS_URL_keeps_the_password_out(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55w0rd"
	err := run(t.Context(), []string{"-stream", testkit.Name(t)}, testkit.Getenv(t, map[string]string{"NATS_URL": "nats://svc:" + secret + "@localhost:4222%"}), io.Discard)
	if err == nil {
		t.Fatal("run succeeded with a malformed NATS_URL")
	}
	testkit.NoSecret(t, err, secret)
	if !strings.Contains(err.Error(), "invalid NATS_URL") {
		t.Errorf("err = %v, want it to name NATS_URL", err)
	}
}

// TestDeadLetter_is_deduplicated_by_stream_and_sequence: messages without a
// Nats-Msg-Id are each stored; the same message twice is stored once.
func TestDeadLetter_is_deduplicated_by_stream_and_sequence(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name, s := newStream(t, js)
	dlq := name + ".dlq.orders"
	for i, seq := range []uint64{1, 2, 1} {
		dup, err := deadLetter(t.Context(), js, dlq, name, []byte("x"), seq, "test")
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 2; dup != want {
			t.Errorf("dead letter %d (seq %d): duplicate %t, want %t", i, seq, dup, want)
		}
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("DLQ holds %d messages, want 2 (one per original sequence)", info.State.Msgs)
	}
}

// TestHandle_naks_a_poison_message_it_could_not_dead_letter: when the dead
// letter cannot be stored, the message is delivered again instead of dropped.
func TestHandle_naks_a_poison_message_it_could_not_dead_letter(t *testing.T) {
	t.Parallel()
	_, js := connect(t)
	name, s := newStream(t, js)
	if _, err := js.Publish(t.Context(), name+".orders.new", []byte("{nope")); err != nil {
		t.Fatal(err)
	}
	cons, err := s.CreateOrUpdateConsumer(t.Context(), ConsumerConfig(name))
	if err != nil {
		t.Fatal(err)
	}
	h := &histories{byseq: map[uint64][]string{}, ids: map[uint64]string{}, done: make(chan struct{}, 64)}
	// No stream captures this subject: the dead-letter publish fails.
	handle(t.Context(), js, "nowhere."+name, h, fetchOne(t, cons, 5*time.Second))
	again := fetchOne(t, cons, 10*time.Second)
	if md, _ := again.Metadata(); md == nil || md.NumDelivered != 2 {
		t.Fatalf("redelivery %+v, want delivery 2", md)
	}
	_ = again.Term()
}

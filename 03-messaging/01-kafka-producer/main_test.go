package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/go-course/part4-infrastructure/03-messaging/internal/kafkatest"
	"github.com/go-course/part4-infrastructure/testkit"
)

// TestRun checks the README's output and then reads the topic back: each
// key's events sit in one partition in the order written, the two rejected
// messages are absent, and everything else arrived.
func TestRun(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := testkit.Name(t)
	kafkatest.DeleteOnCleanup(t, brokers, topic)
	var out bytes.Buffer
	getenv := testkit.Getenv(t, map[string]string{"KAFKA_BROKERS": strings.Join(brokers, ",")})
	if err := run(t.Context(), []string{"-topic", topic}, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, strings.Replace(out.String(), topic, "producer-demo", 1))

	msgs := kafkatest.ReadAll(t, brokers, topic)
	if want := 1 + 1 + 9 + 1000 + 2; len(msgs) != want {
		t.Errorf("topic holds %d messages, want %d", len(msgs), want)
	}
	part := map[string]int{}
	vals := map[string][]string{}
	for _, m := range msgs {
		k := string(m.Key)
		if p, seen := part[k]; seen && p != m.Partition && !strings.HasPrefix(k, "k") && k != "" {
			t.Errorf("key %s in partitions %d and %d", k, p, m.Partition)
		}
		part[k] = m.Partition
		vals[k] = append(vals[k], string(m.Value))
	}
	for _, user := range []string{"alice", "carol", "dave"} {
		if got := strings.Join(vals[user], ","); got != "created,paid,shipped" {
			t.Errorf("%s read back as %q, want created,paid,shipped", user, got)
		}
	}
	n := kafkatest.Count(msgs)
	if n["huge"] != 0 || n["big"] != 0 || n["a"] != 1 || n["b"] != 1 {
		t.Errorf("bad-input batch read back as huge=%d big=%d a=%d b=%d, want 0 0 1 1",
			n["huge"], n["big"], n["a"], n["b"])
	}
}

// TestProduce_rejects_each_bad_message_alone: an oversized message is refused
// before sending with ErrTooLarge, one the broker refuses comes back as its
// own kafka.Error, and the good messages of the same call are written.
func TestProduce_rejects_each_bad_message_alone(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := testkit.Name(t)
	kafkatest.DeleteOnCleanup(t, brokers, topic)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := CreateTopic(ctx, brokers, topic, 3, maxMessageBytes); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(brokers, topic)
	defer w.Close()
	written, errs := Produce(ctx, w, []kafka.Message{
		{Key: []byte("a"), Value: []byte("ok")},
		{Key: []byte("huge"), Value: make([]byte, 2<<20)},
		{Key: []byte("big"), Value: incompressible(100 << 10)},
		{Key: []byte("b"), Value: []byte("ok")},
	})
	if written != 2 || errs[0] != nil || errs[3] != nil {
		t.Fatalf("written %d, errs %v; want 2 written, messages 0 and 3 fine", written, errs)
	}
	var rej *RejectedError
	if !errors.As(errs[1], &rej) || !errors.Is(errs[1], ErrTooLarge) || rej.Index != 1 {
		t.Errorf("message 1: %v, want a RejectedError wrapping ErrTooLarge", errs[1])
	}
	if !errors.Is(errs[2], kafka.MessageSizeTooLarge) {
		t.Errorf("message 2: %v, want the broker's MessageSizeTooLarge", errs[2])
	}
	if n := kafkatest.Count(kafkatest.ReadAll(t, brokers, topic)); n["a"] != 1 || n["b"] != 1 || len(n) != 2 {
		t.Errorf("topic holds %v, want a and b once each", n)
	}
}

// TestCompression_fits_a_batch_under_max_message_bytes: the broker measures
// the compressed batch, so a compressible 256 KiB value passes a 64 KiB limit.
func TestCompression_fits_a_batch_under_max_message_bytes(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := testkit.Name(t)
	kafkatest.DeleteOnCleanup(t, brokers, topic)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := CreateTopic(ctx, brokers, topic, 1, maxMessageBytes); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(brokers, topic)
	defer w.Close()
	value := bytes.Repeat([]byte("order shipped; "), (256<<10)/15)
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Value: value}); err != nil {
		t.Fatalf("write %d compressible bytes: %v", len(value), err)
	}
	if msgs := kafkatest.ReadAll(t, brokers, topic); len(msgs) != 1 || !bytes.Equal(msgs[0].Value, value) {
		t.Errorf("read back %d messages, want the one value intact", len(msgs))
	}
}

// TestCreateTopic_keeps_an_existing_topic: a second run finds the topic and
// reports its partitions instead of failing.
func TestCreateTopic_keeps_an_existing_topic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := testkit.Name(t)
	kafkatest.DeleteOnCleanup(t, brokers, topic)
	for range 2 {
		n, err := CreateTopic(t.Context(), brokers, topic, 3, maxMessageBytes)
		if err != nil || n != 3 {
			t.Fatalf("CreateTopic = %d, %v; want 3 partitions", n, err)
		}
	}
}

// TestWriter_does_not_create_a_missing_topic: kafka-go asks the broker not
// to auto-create (AllowAutoTopicCreation is false), so a typo in a topic
// name is an error, not a new topic with the broker's default partitions.
func TestWriter_does_not_create_a_missing_topic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := testkit.Name(t)
	kafkatest.DeleteOnCleanup(t, brokers, topic)
	w := NewWriter(brokers, topic)
	defer w.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := w.WriteMessages(ctx, kafka.Message{Value: []byte("x")})
	if err == nil {
		t.Fatal("write to a missing topic succeeded")
	}
	c := &kafka.Client{Addr: kafka.TCP(brokers...)}
	md, merr := c.Metadata(t.Context(), &kafka.MetadataRequest{Topics: []string{topic}})
	if merr != nil {
		t.Fatal(merr)
	}
	if len(md.Topics) == 1 && md.Topics[0].Error == nil {
		t.Errorf("the write (%v) created topic %s", err, topic)
	}
	t.Logf("write to a missing topic: %v", err)
}

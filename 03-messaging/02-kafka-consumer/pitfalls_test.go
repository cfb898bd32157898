package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/go-course/part4-infrastructure/03-messaging/internal/kafkatest"
	"github.com/go-course/part4-infrastructure/testkit"
)

// The two kafka-go pitfalls this example is built around, shown on the
// broker: each test loses a message the way the README says.

func groupReader(brokers []string, topic, group string) *kafka.Reader {
	cfg := NewConsumer(brokers, topic, group).Reader
	cfg.CommitInterval = 0 // commit synchronously: what is committed is on the broker at once
	return kafka.NewReader(cfg)
}

func keysInGroup(t *testing.T, brokers []string, topic, group string, n int) []string {
	t.Helper()
	r := groupReader(brokers, topic, group)
	defer r.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var keys []string
	for range n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		keys = append(keys, string(m.Key))
	}
	return keys
}

// TestPitfall_ReadMessage_commits_before_processing (kafka-go #626): the
// process dies after ReadMessage returned m1; the group resumes after m1.
func TestPitfall_ReadMessage_commits_before_processing(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic, group := testkit.Name(t), testkit.Name(t)
	kafkatest.CreateTopic(t, brokers, topic, 1)
	produce(t, brokers, kafka.Message{Topic: topic, Key: []byte("m1")}, kafka.Message{Topic: topic, Key: []byte("m2")})

	r := groupReader(brokers, topic, group)
	if _, err := r.ReadMessage(t.Context()); err != nil { // m1, committed already
		t.Fatal(err)
	}
	_ = r.Close() // "crash" before m1 was processed

	if got := keysInGroup(t, brokers, topic, group, 1); got[0] != "m2" {
		t.Fatalf("after the crash the group starts at %v; the pitfall did not show", got)
	}
}

// TestPitfall_commits_are_cumulative (kafka-go #764): committing m2 while
// m1 failed and was not forwarded commits m1 too; the restart skips it.
func TestPitfall_commits_are_cumulative(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic, group := testkit.Name(t), testkit.Name(t)
	kafkatest.CreateTopic(t, brokers, topic, 1)
	produce(t, brokers, kafka.Message{Topic: topic, Key: []byte("m1")},
		kafka.Message{Topic: topic, Key: []byte("m2")}, kafka.Message{Topic: topic, Key: []byte("m3")})

	r := groupReader(brokers, topic, group)
	if _, err := r.FetchMessage(t.Context()); err != nil { // m1: handling fails, not committed
		t.Fatal(err)
	}
	m2, err := r.FetchMessage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.CommitMessages(t.Context(), m2); err != nil { // m2 ok: commit
		t.Fatal(err)
	}
	_ = r.Close()

	if got := keysInGroup(t, brokers, topic, group, 1); strings.Join(got, ",") != "m3" {
		t.Fatalf("after the restart the group starts at %v; the pitfall did not show", got)
	}
}

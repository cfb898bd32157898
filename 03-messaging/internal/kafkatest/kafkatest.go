// Package kafkatest holds the Kafka helpers of this section's tests: the
// stack's brokers, topics created with a partition count and removed after
// the test, and reading a topic back. Tests only; no example's main.go
// imports it.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/go-course/part4-infrastructure/testkit"
)

// Brokers returns the stack's Kafka brokers, or skips/fails as testkit.Require.
func Brokers(t testing.TB) []string {
	t.Helper()
	return strings.Split(testkit.Require(t, testkit.Kafka), ",")
}

func client(brokers []string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
}

// CreateTopic creates topic with n partitions and deletes it when the test ends.
func CreateTopic(t testing.TB, brokers []string, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	resp, err := client(brokers).CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: n, ReplicationFactor: -1}},
	})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	DeleteOnCleanup(t, brokers, topic)
}

// DeleteOnCleanup deletes topic when the test ends.
func DeleteOnCleanup(t testing.TB, brokers []string, topic string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := client(brokers).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}}); err != nil {
			t.Logf("delete topic %s: %v", topic, err)
		}
	})
}

// ReadAll returns every message of topic, partition by partition, each in
// offset order.
func ReadAll(t testing.TB, brokers []string, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c := client(brokers)
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata %s: %v", topic, errors.Join(err, topicErr(md)))
	}
	var parts []int
	for _, p := range md.Topics[0].Partitions {
		parts = append(parts, p.ID)
	}
	sort.Ints(parts)
	var all []kafka.Message
	for _, p := range parts {
		offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			topic: {kafka.LastOffsetOf(p)},
		}})
		if err != nil {
			t.Fatalf("list offsets %s/%d: %v", topic, p, err)
		}
		end := offs.Topics[topic][0].LastOffset
		if end == 0 {
			continue
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				_ = r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			all = append(all, m)
			if m.Offset >= end-1 {
				break
			}
		}
		_ = r.Close()
	}
	return all
}

func topicErr(md *kafka.MetadataResponse) error {
	if md == nil || len(md.Topics) == 0 {
		return errors.New("no topic in metadata")
	}
	return md.Topics[0].Error
}

// Count returns how many of msgs have each key.
func Count(msgs []kafka.Message) map[string]int {
	n := map[string]int{}
	for _, m := range msgs {
		n[string(m.Key)]++
	}
	return n
}

// Describe is a short form of a message for test failures.
func Describe(m kafka.Message) string {
	return fmt.Sprintf("%s/%d@%d %s=%q", m.Topic, m.Partition, m.Offset, m.Key, m.Value)
}

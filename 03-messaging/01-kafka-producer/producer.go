package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

// maxMessageBytes is the topic's max.message.bytes: the largest record batch
// the broker accepts, measured after compression.
const maxMessageBytes = 64 << 10

// NewWriter returns a kafka.Writer configured on purpose; every field below
// has a default that surprises (https://pkg.go.dev/github.com/segmentio/kafka-go#Writer).
func NewWriter(brokers []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:  kafka.TCP(brokers...),
		Topic: topic,
		// murmur2 of the key, as the Java client and franz-go compute it, so a
		// key lands on the same partition whichever client wrote it. The
		// default, RoundRobin, ignores keys; kafka.Hash (FNV-1a) matches Sarama.
		Balancer: kafka.Murmur2Balancer{},
		// Default RequireNone: fire and forget, broker errors never come back.
		RequiredAcks: kafka.RequireAll,
		// Flush a partition's batch at 1000 messages, 1 MiB, or after 5 ms.
		BatchSize:    1000,
		BatchBytes:   1 << 20,
		BatchTimeout: 5 * time.Millisecond,
		// Compressed per batch; max.message.bytes applies to the result.
		Compression: kafka.Snappy,
		MaxAttempts: 5,
	}
}

// CreateTopic creates topic with the given partitions and max.message.bytes
// unless it exists, and returns its partition count as the broker reports it.
func CreateTopic(ctx context.Context, brokers []string, topic string, partitions, maxBytes int) (int, error) {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions,
		// -1: the broker's default.replication.factor (3 in a real cluster,
		// with min.insync.replicas=2, or RequireAll guarantees little).
		ReplicationFactor: -1,
		ConfigEntries: []kafka.ConfigEntry{
			{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(maxBytes)},
		},
	}}})
	if err != nil {
		return 0, fmt.Errorf("create topic %s: %w", topic, err)
	}
	if err := resp.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
		return 0, fmt.Errorf("create topic %s: %w", topic, err)
	}
	// A new topic may take a moment to reach every broker's metadata.
	for {
		md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			return 0, fmt.Errorf("metadata %s: %w", topic, err)
		}
		if len(md.Topics) == 1 && md.Topics[0].Error == nil {
			return len(md.Topics[0].Partitions), nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("topic %s not ready: %w", topic, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// RejectedError says why one message was not written.
type RejectedError struct {
	Index  int
	Key    string
	Size   int
	Reason string
	Err    error
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("key %q, %d bytes: %s", e.Key, e.Size, e.Reason)
}

func (e *RejectedError) Unwrap() error { return e.Err }

// ErrTooLarge marks a message the writer refuses before sending.
var ErrTooLarge = errors.New("message larger than the writer's BatchBytes")

// Produce writes msgs and returns how many were written and, per message,
// why it was not. kafka-go rejects the whole call when one message exceeds
// BatchBytes, so those are filtered out first; the broker's verdict comes
// back per partition batch as kafka.WriteErrors.
func Produce(ctx context.Context, w *kafka.Writer, msgs []kafka.Message) (int, []error) {
	errs := make([]error, len(msgs))
	var send []kafka.Message
	var index []int
	for i, m := range msgs {
		if n := size(m); n > int(w.BatchBytes) {
			errs[i] = &RejectedError{Index: i, Key: string(m.Key), Size: n, Err: ErrTooLarge,
				Reason: fmt.Sprintf("over BatchBytes %d, not sent", w.BatchBytes)}
			continue
		}
		send, index = append(send, m), append(index, i)
	}
	err := w.WriteMessages(ctx, send...)
	var werrs kafka.WriteErrors
	if err != nil && !errors.As(err, &werrs) {
		werrs = make(kafka.WriteErrors, len(send)) // the whole call failed
		for i := range werrs {
			werrs[i] = err
		}
	}
	written := len(send)
	for j, werr := range werrs {
		if werr == nil {
			continue
		}
		written--
		reason := werr.Error()
		var kerr kafka.Error
		if errors.As(werr, &kerr) {
			reason = fmt.Sprintf("broker refused: [%d] %s", int(kerr), kerr.Title())
		}
		m := send[j]
		errs[index[j]] = &RejectedError{Index: index[j], Key: string(m.Key), Size: size(m),
			Reason: reason, Err: werr}
	}
	return written, errs
}

func size(m kafka.Message) int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// WriteAsync writes n 1 KiB messages with Async set: WriteMessages returns
// before the broker answers and the only place an error surfaces is
// Completion. Close flushes and waits for the last Completion call.
func WriteAsync(ctx context.Context, brokers []string, topic string, n int) (ok, failed int64, err error) {
	var okN, failedN atomic.Int64
	w := NewWriter(brokers, topic)
	w.Async = true
	w.Completion = func(msgs []kafka.Message, err error) {
		if err != nil {
			failedN.Add(int64(len(msgs)))
			return
		}
		okN.Add(int64(len(msgs)))
	}
	value := make([]byte, 1024)
	for i := range n {
		m := kafka.Message{Key: fmt.Appendf(nil, "k%d", i%10), Value: value}
		if err := w.WriteMessages(ctx, m); err != nil {
			_ = w.Close()
			return 0, 0, fmt.Errorf("async write: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, 0, fmt.Errorf("close async writer: %w", err)
	}
	return okN.Load(), failedN.Load(), nil
}

// Placement collects, through Completion, the partition each key landed on.
type Placement struct {
	mu    sync.Mutex
	parts map[string]int
	vals  map[string][]string
}

// Record is a kafka.Writer Completion function.
func (p *Placement) Record(msgs []kafka.Message, err error) {
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parts == nil {
		p.parts, p.vals = map[string]int{}, map[string][]string{}
	}
	for _, m := range msgs {
		k := string(m.Key)
		p.parts[k] = m.Partition
		p.vals[k] = append(p.vals[k], string(m.Value))
	}
}

// Lines describes each key's partition and its values in acknowledged order.
func (p *Placement) Lines(keys ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%s → partition %d: %s", k, p.parts[k], strings.Join(p.vals[k], ", "))
	}
	return lines
}

func timeWrite(ctx context.Context, w *kafka.Writer, m kafka.Message) (time.Duration, error) {
	start := time.Now()
	err := w.WriteMessages(ctx, m)
	return time.Since(start), err
}

// incompressible returns n pseudo-random bytes (a fixed seed: same every run).
func incompressible(n int) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

package contract

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/segmentio/kafka-go"
)

// kafkaBroker: kafka-go v0.4.51 against KAFKA_BROKERS (kfake in native
// mode). A group member owns partitions; a key hashes to one partition.
type kafkaBroker struct{ brokers []string }

func (kafkaBroker) Name() string { return "Kafka (kafka-go)" }

func (kafkaBroker) Guarantees() Guarantees {
	return Guarantees{
		Redelivery: true, RedeliveryVia: "re-read from the last committed offset",
		KeyOrderInGroup: true, Replay: true, Dedup: false,
		Retention: "log: retention.ms / retention.bytes; commits delete nothing",
	}
}

func (b kafkaBroker) Topic(t *testing.T) Topic {
	t.Helper()
	name := testkit.Name(t)
	conn, err := kafka.Dial("tcp", b.brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctrl, err := conn.Controller()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if err := cc.CreateTopics(kafka.TopicConfig{Topic: name, NumPartitions: 4, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	// Topic creation is asynchronous: wait until every partition has a leader.
	testkit.Eventually(t, 10*time.Second, func() error {
		parts, err := conn.ReadPartitions(name)
		if err == nil && len(parts) != 4 {
			err = errors.New("partitions not ready")
		}
		return err
	})
	t.Cleanup(func() {
		if c, err := kafka.Dial("tcp", net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))); err == nil {
			_ = c.DeleteTopics(name)
			_ = c.Close()
		}
	})
	w := &kafka.Writer{Addr: kafka.TCP(b.brokers...), Topic: name, Balancer: &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond,
		// Own transport: the shared default caches topic metadata for 6 s,
		// and a topic created after its last refresh reads as unknown.
		Transport: &kafka.Transport{}}
	t.Cleanup(func() { _ = w.Close() })
	return &kafkaTopic{b: b, name: name, w: w}
}

type kafkaTopic struct {
	b    kafkaBroker
	name string
	w    *kafka.Writer
}

func (k *kafkaTopic) Publish(ctx context.Context, msgs ...Message) error {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Key: []byte(m.Key), Value: m.Body,
			Headers: []kafka.Header{{Key: "id", Value: []byte(m.ID)}}}
	}
	return k.w.WriteMessages(ctx, out...)
}

func (k *kafkaTopic) Subscribe(t *testing.T, group string) Subscriber {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: k.b.brokers, Topic: k.name, GroupID: k.name + "-" + group,
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 6 * time.Second,
		RebalanceTimeout: 5 * time.Second, JoinGroupBackoff: 500 * time.Millisecond,
	})
	s := &kafkaSub{r: r}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type kafkaSub struct {
	r      *kafka.Reader
	closed bool
}

func (s *kafkaSub) Next(ctx context.Context) (Delivery, error) {
	m, err := s.r.FetchMessage(ctx) // not ReadMessage: that commits before processing
	if err != nil {
		return Delivery{}, err
	}
	var id string
	for _, h := range m.Headers {
		if h.Key == "id" {
			id = string(h.Value)
		}
	}
	return Delivery{
		Message: Message{ID: id, Key: string(m.Key), Body: m.Value},
		Ack:     func(ctx context.Context) error { return s.r.CommitMessages(ctx, m) },
	}, nil
}

func (s *kafkaSub) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.r.Close(); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "closed") {
		return err
	}
	return nil
}

func TestKafka(t *testing.T) {
	t.Parallel()
	Run(t, kafkaBroker{brokers: strings.Split(testkit.Require(t, testkit.Kafka), ",")})
}

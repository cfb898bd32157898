package contract

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsBroker: nats.go v1.55.0 jetstream, one stream per topic and one
// durable pull consumer per group; members of a group pull from the same
// consumer.
type natsBroker struct{ url string }

func (natsBroker) Name() string { return "NATS JetStream (nats.go)" }

// ackWait is short so the redelivery scenario does not wait 30 s.
const ackWait = time.Second

func (natsBroker) Guarantees() Guarantees {
	return Guarantees{
		Redelivery: true, RedeliveryVia: "redelivered by the server after AckWait",
		KeyOrderInGroup: false, Replay: true, Dedup: true,
		Retention: "stream limits (age, bytes, count); acks delete nothing",
	}
}

func (b natsBroker) Topic(t *testing.T) Topic {
	t.Helper()
	nc, err := nats.Connect(b.url, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name := testkit.Name(t)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{
		Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.MemoryStorage,
		Duplicates: time.Minute, // the Nats-Msg-Id dedup window
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, name)
	})
	return &natsTopic{js: js, name: name}
}

type natsTopic struct {
	js   jetstream.JetStream
	name string
}

func (n *natsTopic) Publish(ctx context.Context, msgs ...Message) error {
	for _, m := range msgs {
		msg := nats.NewMsg(n.name + "." + m.Key)
		msg.Data = m.Body
		msg.Header.Set("key", m.Key)
		msg.Header.Set("id", m.ID)
		if _, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID)); err != nil {
			return err
		}
	}
	return nil
}

func (n *natsTopic) Subscribe(t *testing.T, group string) Subscriber {
	t.Helper()
	c, err := n.js.CreateOrUpdateConsumer(t.Context(), n.name, jetstream.ConsumerConfig{
		Durable: group, AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &natsSub{c: c}
}

type natsSub struct {
	c       jetstream.Consumer
	pending []jetstream.Msg
}

func (s *natsSub) Next(ctx context.Context) (Delivery, error) {
	for len(s.pending) == 0 {
		batch, err := s.c.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			return Delivery{}, err
		}
		for m := range batch.Messages() {
			s.pending = append(s.pending, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return Delivery{}, err
		}
		if err := ctx.Err(); err != nil {
			return Delivery{}, err
		}
	}
	m := s.pending[0]
	s.pending = s.pending[1:]
	return Delivery{
		Message: Message{ID: m.Headers().Get("id"), Key: m.Headers().Get("key"), Body: m.Data()},
		Ack:     func(ctx context.Context) error { return m.DoubleAck(ctx) },
	}, nil
}

func (s *natsSub) Close() error { return nil } // a pull consumer holds nothing client-side

func TestNATSJetStream(t *testing.T) {
	t.Parallel()
	Run(t, natsBroker{url: testkit.Require(t, testkit.NATS)})
}

package main

import (
	"context"
	"sync"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/go-course/part4-infrastructure/03-messaging/internal/kafkatest"
	"github.com/go-course/part4-infrastructure/testkit"
)

// Two shapes of producing 1 KiB messages to a 3-partition topic:
//   - callers=100: 100 goroutines each write one message synchronously, as
//     request handlers of a service do (one op = those 100 messages);
//   - batch=1000: one goroutine hands over 1000 messages and waits for all.
//
// Producers: kafka-go with a kafka.Writer{} literal (defaults), kafka-go
// tuned as in NewWriter, and franz-go (kgo) with acks from all replicas and
// snappy, what a reader would pick instead. msgs/s is the figure to compare.

const benchValueSize = 1024

type producer interface {
	// produce writes n messages from the given number of goroutines.
	produce(ctx context.Context, callers, n int) error
	close()
}

type kafkaGo struct{ w *kafka.Writer }

func (p kafkaGo) produce(ctx context.Context, callers, n int) error {
	value := make([]byte, benchValueSize)
	if callers == 1 {
		msgs := make([]kafka.Message, n)
		for i := range msgs {
			msgs[i] = kafka.Message{Key: []byte{byte(i)}, Value: value}
		}
		return p.w.WriteMessages(ctx, msgs...)
	}
	return parallel(callers, func(i int) error {
		return p.w.WriteMessages(ctx, kafka.Message{Key: []byte{byte(i)}, Value: value})
	})
}

func (p kafkaGo) close() { _ = p.w.Close() }

type franzGo struct{ c *kgo.Client }

func (p franzGo) produce(ctx context.Context, callers, n int) error {
	value := make([]byte, benchValueSize)
	if callers == 1 {
		var mu sync.Mutex
		var first error
		for i := range n {
			p.c.Produce(ctx, &kgo.Record{Key: []byte{byte(i)}, Value: value}, func(_ *kgo.Record, err error) {
				mu.Lock()
				defer mu.Unlock()
				if first == nil {
					first = err
				}
			})
		}
		if err := p.c.Flush(ctx); err != nil {
			return err
		}
		return first
	}
	return parallel(callers, func(i int) error {
		return p.c.ProduceSync(ctx, &kgo.Record{Key: []byte{byte(i)}, Value: value}).FirstErr()
	})
}

func (p franzGo) close() { p.c.Close() }

func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func BenchmarkProduce(b *testing.B) {
	brokers := kafkatest.Brokers(b)
	for _, shape := range []struct {
		name       string
		callers, n int
	}{{"callers=100", 100, 100}, {"batch=1000", 1, 1000}} {
		for _, impl := range []struct {
			name string
			new  func(topic string) (producer, error)
		}{
			{"kafka-go-default", func(topic string) (producer, error) {
				return kafkaGo{&kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic}}, nil
			}},
			{"kafka-go-tuned", func(topic string) (producer, error) {
				return kafkaGo{NewWriter(brokers, topic)}, nil
			}},
			{"franz-go", func(topic string) (producer, error) {
				c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
					kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.SnappyCompression()))
				return franzGo{c}, err
			}},
		} {
			b.Run(shape.name+"/"+impl.name, func(b *testing.B) {
				topic := testkit.Name(b)
				kafkatest.CreateTopic(b, brokers, topic, 3)
				p, err := impl.new(topic)
				if err != nil {
					b.Fatal(err)
				}
				defer p.close()
				b.SetBytes(int64(shape.n * benchValueSize))
				for b.Loop() {
					if err := p.produce(b.Context(), shape.callers, shape.n); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*shape.n)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

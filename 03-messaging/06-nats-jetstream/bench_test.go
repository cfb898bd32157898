package main

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/go-course/part4-infrastructure/testkit"
)

// BenchmarkPublish compares publishing 1 KiB messages: core NATS (no
// storage, no acknowledgement), JetStream with a PubAck awaited per message,
// and JetStream async (up to 4096 PubAcks in flight, all checked at the end).
// One op is one message; msgs/s is the figure to compare.
func BenchmarkPublish(b *testing.B) {
	nc, js := connect(b)
	value := make([]byte, 1024)

	b.Run("core", func(b *testing.B) {
		subject := testkit.Name(b)
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if err := nc.Publish(subject, value); err != nil {
				b.Fatal(err)
			}
		}
		if err := nc.FlushTimeout(10 * time.Second); err != nil { // the server has them all
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})

	b.Run("jetstream-sync", func(b *testing.B) {
		name, _ := newStream(b, js)
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			if _, err := js.Publish(b.Context(), name+".orders.new", value); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})

	b.Run("jetstream-async", func(b *testing.B) {
		ajs, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
		if err != nil {
			b.Fatal(err)
		}
		name, _ := newStream(b, ajs)
		var futures []jetstream.PubAckFuture
		b.SetBytes(int64(len(value)))
		for b.Loop() {
			f, err := ajs.PublishAsync(name+".orders.new", value)
			if err != nil {
				b.Fatal(err)
			}
			futures = append(futures, f)
		}
		select {
		case <-ajs.PublishAsyncComplete():
		case <-b.Context().Done():
			b.Fatal("PubAcks outstanding")
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

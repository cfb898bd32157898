package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// BenchmarkPublish compares waiting for each publisher confirm before the
// next publish with keeping a window of messages in flight (publishAll),
// for 1 KiB persistent messages into a quorum queue.
func BenchmarkPublish(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	for _, window := range []int{1, 100, 1000} {
		name := "confirm_each"
		if window > 1 {
			name = fmt.Sprintf("in_flight_%d", window)
		}
		b.Run(name, func(b *testing.B) {
			conn, _, err := dial(testkit.Require(b, testkit.RabbitMQ))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			ch, err := conn.Channel()
			if err != nil {
				b.Fatal(err)
			}
			q := testkit.Name(b)
			if err := declare(ch, q); err != nil {
				b.Fatal(err)
			}
			defer func() {
				_, _ = ch.QueueDelete(q+".dead", false, false, false)
				_, _ = ch.QueueDelete(q, false, false, false)
			}()
			if err := ch.Confirm(false); err != nil {
				b.Fatal(err)
			}
			batch := make([][]byte, window)
			for i := range batch {
				batch[i] = body
			}
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for sent := 0; sent < b.N; sent += window {
				n, err := publishAll(b.Context(), ch, q, batch[:min(window, b.N-sent)])
				if err != nil || n != min(window, b.N-sent) {
					b.Fatalf("confirmed %d: %v", n, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

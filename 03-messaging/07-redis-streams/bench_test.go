package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

// BenchmarkXAdd compares one XADD per round trip with pipelines of 100,
// for 1 KiB payloads and MAXLEN ~ 100000 (as the example uses).
func BenchmarkXAdd(b *testing.B) {
	payload := strings.Repeat("x", 1024)
	for _, batch := range []int{1, 100} {
		name := "one_by_one"
		if batch > 1 {
			name = fmt.Sprintf("pipelined_%d", batch)
		}
		b.Run(name, func(b *testing.B) {
			rdb := redis.NewClient(&redis.Options{Addr: testkit.Require(b, testkit.Redis)})
			defer rdb.Close()
			stream := testkit.Name(b)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				rdb.Del(ctx, stream)
			}()
			args := &redis.XAddArgs{Stream: stream, MaxLen: 100000, Approx: true,
				Values: map[string]any{"payload": payload}}
			ctx := b.Context()
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			for sent := 0; sent < b.N; sent += batch {
				n := min(batch, b.N-sent)
				if n == 1 {
					if err := rdb.XAdd(ctx, args).Err(); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for range n {
						p.XAdd(ctx, args)
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

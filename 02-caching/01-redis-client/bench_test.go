package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

// BenchmarkThousandSets writes 1,000 keys per iteration four ways: one
// round trip per SET, one pipeline, one MULTI/EXEC pipeline, and go-redis
// auto-pipelining (async: submit all, then read the results). sets/s is
// what redis-bench.sh compares with redis-benchmark -P 16.
func BenchmarkThousandSets(b *testing.B) {
	rdb := NewClient(testkit.Require(b, testkit.Redis), true)
	b.Cleanup(func() { _ = rdb.Close() })
	prefix := testkit.Name(b) + ":"
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = prefix + strconv.Itoa(i)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rdb.Del(ctx, keys...).Err()
	})
	ctx := b.Context()
	batch := func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Set(ctx, k, "v", time.Minute)
		}
		return nil
	}
	ways := []struct {
		name string
		fn   func() error
	}{
		{"one_by_one", func() error {
			for _, k := range keys {
				if err := rdb.Set(ctx, k, "v", time.Minute).Err(); err != nil {
					return err
				}
			}
			return nil
		}},
		{"pipeline", func() error { _, err := rdb.Pipelined(ctx, batch); return err }},
		{"tx_pipeline", func() error { _, err := rdb.TxPipelined(ctx, batch); return err }},
		{"auto_pipeline", func() error {
			ap, err := rdb.AsyncAutoPipeline()
			if err != nil {
				return err
			}
			cmds := make([]*redis.StatusCmd, len(keys))
			for i, k := range keys {
				cmds[i] = ap.Set(ctx, k, "v", time.Minute)
			}
			for _, c := range cmds {
				if err := c.Err(); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, w := range ways {
		b.Run(w.name, func(b *testing.B) {
			for b.Loop() {
				if err := w.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(keys)*b.N)/b.Elapsed().Seconds(), "sets/s")
		})
	}
}

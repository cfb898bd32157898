package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

// BenchmarkInvalidationDelay: from A's SET returning to B, which held the
// old value in its client-side cache, reading the new one. ns/op is that
// window; compare with 06-multilevel's benchmark of the same name.
func BenchmarkInvalidationDelay(b *testing.B) {
	addr := testkit.Require(b, testkit.Redis)
	a := redis.NewClient(&redis.Options{Addr: addr})
	c := NewCachingClient(addr, time.Minute)
	key := testkit.Name(b)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Del(ctx, key).Err()
		_ = a.Close()
		_ = c.Close()
	})
	i := 0
	for b.Loop() {
		b.StopTimer()
		old, next := strconv.Itoa(i), strconv.Itoa(i+1)
		if err := a.Set(b.Context(), key, old, time.Minute).Err(); err != nil {
			b.Fatal(err)
		}
		if _, err := readUntil(b.Context(), c, key, old, 5*time.Second); err != nil {
			b.Fatal(err)
		}
		c.Get(b.Context(), key) // now a hit
		if err := a.Set(b.Context(), key, next, time.Minute).Err(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		stale := 0
		for c.Get(b.Context(), key).Val() != next {
			stale++ // hits on the old value until the push is applied
		}
		i += 2
	}
}

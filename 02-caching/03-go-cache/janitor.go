package main

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"
)

// StartJanitor deletes c's expired items every interval until ctx ends or
// stop is called; stop waits for the goroutine to exit. Use it with
// cache.New(ttl, 0) instead of go-cache's own janitor, which has no Stop.
func StartJanitor(ctx context.Context, c *cache.Cache, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.DeleteExpired()
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// NotifyEvicted is an OnEvicted callback that sends the key on ch if
// there is room and drops it otherwise, so it never blocks the janitor.
func NotifyEvicted(ch chan<- string) func(string, any) {
	return func(key string, _ any) {
		select {
		case ch <- key:
		default:
		}
	}
}

// HeapGrowth is how many bytes of live heap fn left behind.
func HeapGrowth(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc < before.HeapAlloc {
		return 0
	}
	return after.HeapAlloc - before.HeapAlloc
}

// WaitGoroutines runs the GC until the number of goroutines is back to n:
// the finalizer that stops go-cache's janitor runs only after a GC found
// the *Cache unreachable.
func WaitGoroutines(ctx context.Context, n int) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for runtime.NumGoroutine() > n {
		runtime.GC()
		select {
		case <-ctx.Done():
			return fmt.Errorf("janitor still running: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

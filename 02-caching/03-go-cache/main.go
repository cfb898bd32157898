// Command go-cache shows patrickmn/go-cache: a map with per-item TTLs, a
// janitor that deletes expired items, OnEvicted — and its limits: no size
// bound, and a janitor goroutine that only a finalizer stops.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/patrickmn/go-cache"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, _ func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	// Cleanup interval 0: no built-in janitor goroutine. StartJanitor runs
	// one that this function owns and stops.
	c := cache.New(5*time.Minute, 0)
	evicted := make(chan string, 1)
	// OnEvicted runs on the janitor's goroutine (or Delete's caller), not
	// when Get finds an item expired. It must not block: a send nobody
	// receives would stall the janitor, and stop() would wait forever.
	c.OnEvicted(NotifyEvicted(evicted))

	c.Set("session:1", "token", 50*time.Millisecond)
	c.SetDefault("user:1", "Ada") // the default TTL, 5 min
	_, found := c.Get("session:1")
	fmt.Fprintf(stdout, "set session:1 with a 50ms TTL: found=%t, items=%d\n", found, c.ItemCount())

	time.Sleep(100 * time.Millisecond) // let the TTL pass
	_, found = c.Get("session:1")
	fmt.Fprintf(stdout, "100ms later: found=%t, items=%d (expired, still held until the janitor runs)\n",
		found, c.ItemCount())

	stop := StartJanitor(ctx, c, 20*time.Millisecond)
	select {
	case key := <-evicted:
		fmt.Fprintf(stdout, "janitor ran: OnEvicted(%s), items=%d\n", key, c.ItemCount())
	case <-ctx.Done():
		stop()
		return fmt.Errorf("janitor: %w", ctx.Err())
	}
	stop()

	// The limit: nothing bounds the size. A stream of unique keys (ids in
	// URLs, session ids, a scan) grows the map until its TTLs run out.
	n := 200_000
	grew := HeapGrowth(func() {
		for i := range n {
			c.Set("req:"+strconv.Itoa(i), i, 10*time.Minute)
		}
	})
	fmt.Fprintf(stdout, "%d unique keys, 10 min TTL: items=%d, heap +%d MiB\n", n, c.ItemCount(), grew>>20)

	// cache.New with a cleanup interval starts a goroutine that only a
	// finalizer stops, once the *Cache is garbage-collected (go-cache #166).
	before := runtime.NumGoroutine()
	leaky := cache.New(time.Minute, time.Minute)
	fmt.Fprintf(stdout, "cache.New(ttl, time.Minute): goroutines +%d (its janitor)\n",
		runtime.NumGoroutine()-before)
	runtime.KeepAlive(leaky)
	if err := WaitGoroutines(ctx, before); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "cache dropped, GC ran its finalizer: janitor stopped")
	return nil
}

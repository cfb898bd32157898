// Command client-side-cache builds the L1 of 06-multilevel with go-redis
// itself: server-assisted client-side caching (RESP3 CLIENT TRACKING), where
// Redis remembers which keys a connection read and pushes an invalidation
// when one changes. Experimental in go-redis v9.23.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// NewCachingClient returns a client whose eligible reads (GET, HGETALL,
// ...) are served from process memory until Redis invalidates them.
// https://pkg.go.dev/github.com/redis/go-redis/v9#Options.ClientSideCacheConfig
func NewCachingClient(addr string, maxStaleness time.Duration) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:                  addr,
		Protocol:              3, // invalidations are RESP3 push messages
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		ClientSideCacheConfig: &redis.ClientSideCacheConfig{
			MaxEntries: 10_000,
			// The backstop for a lost invalidation, as L1TTL in 06.
			MaxStaleness: maxStaleness,
		},
	})
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) (err error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	addr := cmp.Or(getenv("REDIS_ADDR"), "localhost:6379")
	key := cmp.Or(getenv("KEY_PREFIX"), "example:client-side-cache:") + "user:1"

	// Two instances; each has its own in-process cache.
	a := NewCachingClient(addr, 30*time.Second)
	defer a.Close()
	b := NewCachingClient(addr, 30*time.Second)
	defer b.Close()
	if err := a.Set(ctx, key, "Ada", time.Minute).Err(); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	defer func() { err = errors.Join(err, deleteKeys(ctx, a, 2*time.Second, key)) }()

	for i := range 3 {
		v, err := b.Get(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		s := b.CSCStats()
		fmt.Fprintf(stdout, "B get %d: %q (cache hits=%d misses=%d)\n", i+1, v, s.Hits, s.Misses)
	}

	// A writes. Redis tracked B's read and pushes an invalidation to B's
	// connection; B applies it at its next read or drain tick (5 ms).
	if err := a.Set(ctx, key, "Ada Lovelace", time.Minute).Err(); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	fmt.Fprintln(stdout, `A set user:1 = "Ada Lovelace"`)
	stale, err := readUntil(ctx, b, key, "Ada Lovelace", 2*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "B get once the invalidation arrived: %q (stale reads before it: %d)\n",
		"Ada Lovelace", stale)
	return nil
}

// deleteKeys runs in a defer, after ctx may have ended, so it gets a
// deadline of its own: a dead server fails the cleanup instead of hanging.
func deleteKeys(ctx context.Context, c *redis.Client, d time.Duration, keys ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	if err := c.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("clean up: %w", err)
	}
	return nil
}

// readUntil reads key through c until it returns want, for at most d, and
// says how many reads returned something else first.
func readUntil(ctx context.Context, c *redis.Client, key, want string, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for stale := 0; ; stale++ {
		v, err := c.Get(ctx, key).Result()
		if err != nil {
			return stale, fmt.Errorf("get: %w", err)
		}
		if v == want {
			return stale, nil
		}
		if time.Now().After(deadline) {
			return stale, fmt.Errorf("still %q after %s", v, d)
		}
		time.Sleep(time.Millisecond)
	}
}

// Command redis-recipes builds two tools on Redis Lua scripts: a
// sliding-window rate limiter exact at the window's edge, and a lock with
// an owner token and fencing tokens — shown failing the way such locks fail.
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

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	addr := cmp.Or(getenv("REDIS_ADDR"), "localhost:6379")
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()
	prefix := cmp.Or(getenv("KEY_PREFIX"), "example:redis-recipes:")
	if err := rdb.Del(ctx, prefix+"rl:alice", prefix+"lock:report", prefix+"lock:report:fence",
		prefix+"report").Err(); err != nil {
		return fmt.Errorf("reset keys: %w", err)
	}

	// 3 requests per second. The clock is passed in, so the edge of the
	// window is exact: at t0+1s the request from t0 has left the window.
	limiter, err := NewLimiter(rdb, 3, time.Second)
	if err != nil {
		return err
	}
	t0 := time.UnixMilli(1_700_000_000_000)
	for _, at := range []time.Duration{0, 100, 200, 300, 999, 1000} {
		d, err := limiter.Allow(ctx, prefix+"rl:alice", t0.Add(at*time.Millisecond))
		if err != nil {
			return err
		}
		if d.Allowed {
			fmt.Fprintf(stdout, "rate limit t+%dms: allowed, %d left\n", at, d.Remaining)
		} else {
			fmt.Fprintf(stdout, "rate limit t+%dms: denied, retry after %s\n", at, d.RetryAfter)
		}
	}

	// The lock, and what goes wrong when its owner stalls past the TTL.
	key := prefix + "lock:report"
	a, err := Acquire(ctx, rdb, key, 200*time.Millisecond)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lock: A acquired, fence %d\n", a.Fence)
	_, err = Acquire(ctx, rdb, key, time.Second)
	fmt.Fprintf(stdout, "lock: B tries while A holds it: %v\n", errors.Unwrap(err))

	// A stalls (a GC pause, a slow disk, a stopped VM) and its TTL runs out.
	time.Sleep(300 * time.Millisecond)
	b, err := Acquire(ctx, rdb, key, time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lock: A stalled past its 200ms TTL; B acquired, fence %d\n", b.Fence)
	if err := WriteFenced(ctx, rdb, prefix+"report", b.Fence, "written by B"); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "lock: B writes with fence 2: accepted")
	// A wakes up believing it holds the lock.
	err = WriteFenced(ctx, rdb, prefix+"report", a.Fence, "written by A")
	fmt.Fprintf(stdout, "lock: A writes with fence 1: %v\n", errors.Unwrap(err))
	fmt.Fprintf(stdout, "lock: A releases: %v (B's lock untouched)\n", errors.Unwrap(a.Release(ctx)))
	if err := b.Release(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "lock: B releases: ok")
	return nil
}

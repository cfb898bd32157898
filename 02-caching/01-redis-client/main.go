// Command redis-client shows the go-redis v9 options that matter in
// production and the commands every Redis cache is built from: GET/SET with
// a TTL, redis.Nil as a miss, pipelines and MULTI/EXEC, optimistic locking
// with WATCH, a Lua script, Pub/Sub, and a context deadline that holds.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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

// NewClient returns a client whose every option differs from the default
// for a reason: see https://pkg.go.dev/github.com/redis/go-redis/v9#Options.
func NewClient(addr string, contextTimeout bool) *redis.Client {
	return redis.NewClient(options(addr, contextTimeout))
}

// options is new on every call: NewClient rewrites the Options it is given
// (MaxRetries -1 becomes 0), so one value must not serve two clients.
func options(addr string, contextTimeout bool) *redis.Options {
	return &redis.Options{
		Addr: addr,
		// Default 10×GOMAXPROCS. Every blocking command (BLPOP, XREAD BLOCK)
		// and every Pub/Sub subscription holds one connection while it waits.
		PoolSize:     20,
		MinIdleConns: 2,
		PoolTimeout:  time.Second, // waiting for a free connection
		DialTimeout:  2 * time.Second,
		ReadTimeout:  500 * time.Millisecond, // a cache answers fast or not at all
		WriteTimeout: 500 * time.Millisecond,
		// Off by default: a context deadline then does not stop a command
		// that is already running (go-redis issue #2215).
		ContextTimeoutEnabled: contextTimeout,
		// Default 3: after a read timeout go-redis re-sends the command, and
		// an INCR the server already ran is applied twice. Retry in your own
		// code, where you know the command is idempotent.
		MaxRetries: -1,
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	addr := cmp.Or(getenv("REDIS_ADDR"), "localhost:6379")
	d := demo{
		rdb:    NewClient(addr, true),
		cas:    casScript(),
		prefix: cmp.Or(getenv("KEY_PREFIX"), "example:redis-client:"),
		out:    stdout,
	}
	defer d.rdb.Close()
	if err := d.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping %s: %w", addr, err)
	}
	// A rerun starts from the same state: delete this demo's keys only.
	if err := d.rdb.Del(ctx, d.keys()...).Err(); err != nil {
		return fmt.Errorf("reset keys: %w", err)
	}

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"get and set", d.getSet},
		{"pipeline", d.pipeline},
		{"tx pipeline", d.txPipeline},
		{"watch", d.watch},
		{"lua", d.lua},
		{"pubsub", d.pubsub},
	}
	for _, s := range steps {
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}

	// The failure case: a 100 ms deadline around a BLPOP that waits 1 s.
	// Only a client with ContextTimeoutEnabled stops at the deadline.
	for _, enabled := range []bool{false, true} {
		rdb := NewClient(addr, enabled)
		err := blockingPop(ctx, rdb, d.key("empty-list"), 100*time.Millisecond, time.Second)
		rdb.Close()
		fmt.Fprintf(stdout, "deadline 100ms, BLPOP 1s, ContextTimeoutEnabled=%t: %s\n",
			enabled, describe(err))
	}
	return nil
}

// describe names the outcomes of blockingPop the way a caller should tell
// them apart: redis.Nil is an answer (empty), a deadline is a failure.
func describe(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, redis.Nil):
		return "redis.Nil after the server's 1s timeout (deadline ignored)"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "i/o timeout at the context deadline (stopped)"
	default:
		return fmt.Sprintf("unexpected: %v", err)
	}
}

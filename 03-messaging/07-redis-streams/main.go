// Command 07-redis-streams uses a Redis stream as a work queue: XADD with
// an approximate MAXLEN, a consumer group, XACK after processing, XPENDING
// to see what a crashed consumer left behind, XAUTOCLAIM to take it over,
// and a dead-letter stream for entries that fail too often or are bad.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// options for the stream client. NewClient rewrites what it is given
// (MaxRetries -1 becomes 0), so each client gets a new value.
func options(addr string) *redis.Options {
	return &redis.Options{
		Addr: addr,
		// The default 3 re-sends a command after a read timeout: an XADD the
		// server already ran is added twice. Retry where you know it is safe.
		MaxRetries: -1,
		// Off by default: a context deadline then does not stop a command
		// that is already running, a blocking XREADGROUP included.
		ContextTimeoutEnabled: true,
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("07-redis-streams", flag.ContinueOnError)
	stream := fs.String("stream", "events", "stream key")
	minIdle := fs.Duration("min-idle", 100*time.Millisecond, "claim entries pending this long")
	// Off by default: a copied service that deleted its stream at every
	// start would lose every entry not yet processed on each restart.
	reset := fs.Bool("reset", false, "delete the stream and its dead stream first (a demo rerun starts empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(options(cmp.Or(getenv("REDIS_ADDR"), "localhost:6379")))
	defer rdb.Close()

	if *reset {
		if err := rdb.Del(ctx, *stream, *stream+".dead").Err(); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
	}
	// MKSTREAM creates the stream with the group; "$" would skip entries
	// added before the group existed, "0" reads them too. BUSYGROUP: the
	// group exists already, which is what a restart finds.
	if err := rdb.XGroupCreateMkStream(ctx, *stream, "workers", "0").Err(); err != nil &&
		!strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("xgroup create: %w", err)
	}
	payloads := []string{
		`{"type":"signup","user":"ann"}`, `{"type":"signup","user":"bob"}`,
		`{"type":"signup","user":"poison"}`, `{"type":"signup","user":"cid"}`,
		`{"type":"refund","user":"dan"}`, `not json`,
	}
	for _, p := range payloads {
		// MAXLEN ~ bounds memory cheaply (whole nodes are dropped), and
		// trims entries whether or not any group has acknowledged them.
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: *stream, MaxLen: 10000, Approx: true,
			Values: map[string]any{"payload": p}}).Err(); err != nil {
			return fmt.Errorf("xadd: %w", err)
		}
	}
	fmt.Fprintf(stdout, "XADD %d entries to %s (MAXLEN ~ 10000)\n", len(payloads), *stream)

	newConsumer := func(name string) *Consumer {
		return &Consumer{RDB: rdb, Stream: *stream, Group: "workers", Name: name, MaxDeliveries: 3, Out: stdout}
	}
	c1, c2 := newConsumer("c1"), newConsumer("c2")
	msgs, err := c1.ReadNew(ctx, 2)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "c1: XREADGROUP > got %d, crashed before XACK\n", len(msgs))
	if msgs, err = c2.ReadNew(ctx, 10); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "c2: XREADGROUP > got %d\n", len(msgs))
	if err := c2.Process(ctx, msgs, 1); err != nil {
		return err
	}
	if err := printPending(ctx, rdb, *stream, stdout); err != nil {
		return err
	}
	// Recovery: claim what has been pending longer than min-idle, until
	// nothing is pending. The poison entry fails twice more, then exceeds
	// 3 deliveries. (The demo waits until every pending entry is idle, so
	// each round claims all of them and the output is the same each run.)
	for {
		p, err := rdb.XPending(ctx, *stream, "workers").Result()
		if err != nil {
			return fmt.Errorf("xpending: %w", err)
		}
		if p.Count == 0 {
			break
		}
		idle, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: *stream, Group: "workers",
			Idle: *minIdle, Start: "-", End: "+", Count: p.Count}).Result()
		if err != nil {
			return fmt.Errorf("xpending idle: %w", err)
		}
		if int64(len(idle)) < p.Count {
			select {
			case <-ctx.Done():
				return fmt.Errorf("recover: %w", ctx.Err())
			case <-time.After(*minIdle / 4):
			}
			continue
		}
		if _, err := c2.Recover(ctx, *minIdle); err != nil {
			return err
		}
	}
	if err := printPending(ctx, rdb, *stream, stdout); err != nil {
		return err
	}
	dead, err := rdb.XRange(ctx, *stream+".dead", "-", "+").Result()
	if err != nil {
		return fmt.Errorf("xrange: %w", err)
	}
	for _, d := range dead {
		fmt.Fprintf(stdout, "%s.dead: %s reason=%q\n", *stream, d.Values["payload"], d.Values["reason"])
	}
	return nil
}

// printPending shows the group's pending entries per consumer (XPENDING).
func printPending(ctx context.Context, rdb *redis.Client, stream string, w io.Writer) error {
	p, err := rdb.XPending(ctx, stream, "workers").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("xpending: %w", err)
	}
	fmt.Fprintf(w, "XPENDING: %d pending %v\n", p.Count, p.Consumers)
	return nil
}

// Command write-behind acknowledges writes once Redis holds them and saves
// them to PostgreSQL later from a bounded queue: a slow database fills the
// queue and new writes are refused, and a graceful stop saves everything
// that was accepted.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		// Not pgx's error: it masks the password today, this holds on any version.
		return errors.New("connect: invalid DATABASE_URL")
	}
	defer pool.Close()
	rdb := redis.NewClient(&redis.Options{Addr: cmp.Or(getenv("REDIS_ADDR"), "localhost:6379"),
		ContextTimeoutEnabled: true, MaxRetries: -1})
	defer rdb.Close()

	// A table and key namespace of this run only.
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "write_behind_" + hex.EncodeToString(suffix)
	store, err := NewStore(ctx, pool, name)
	if err != nil {
		return err
	}
	prefix := name + ":"
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = store.Drop(cctx)
		// SCAN, not KEYS: KEYS blocks a large Redis while it walks every key.
		iter := rdb.Scan(cctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(cctx) {
			_ = rdb.Del(cctx, iter.Val()).Err()
		}
	}()

	// A slow database, injected: another transaction locks the table, so
	// the saver blocks on the first write and the queue of 2 fills up.
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if _, err := tx.Exec(ctx, "LOCK TABLE "+store.table+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	w := NewWriteBehind(rdb, store, prefix, 2, slog.New(slog.NewTextHandler(stdout, nil)))
	accepted := 0
	for i := 1; ; i++ {
		err := w.Set(ctx, "order:"+strconv.Itoa(i), "paid")
		if errors.Is(err, ErrQueueFull) {
			fmt.Fprintf(stdout, "queue of 2, database locked: %d writes accepted, then %v\n",
				accepted, errors.Unwrap(err))
			break
		} else if err != nil {
			return err
		}
		accepted++
		for i == 1 && len(w.q) > 0 { // the saver took the first and waits on the lock
			time.Sleep(time.Millisecond)
		}
	}
	v, err := w.Get(ctx, "order:3")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "get order:3 before PostgreSQL has it: %q (from Redis)\n", v)

	if err := tx.Rollback(ctx); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	// The graceful stop: refuse new writes, save the queue, within a bound.
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		return err
	}
	saved, err := store.Count(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database unlocked, Close: %d of %d accepted writes saved\n", saved, accepted)
	fmt.Fprintf(stdout, "set after Close: %v\n", w.Set(ctx, "order:9", "paid"))
	return nil
}

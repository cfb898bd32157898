// Command multilevel runs two instances of a service, each with an
// in-process L1 (ristretto) over a shared Redis L2 over PostgreSQL, kept
// coherent by invalidations over Redis Pub/Sub; writes go through to
// PostgreSQL first (write-behind is 08-write-behind).
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
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

// DefaultConfig: L1 entries live 30 s — the longest an instance may serve
// a value whose invalidation it never received.
func DefaultConfig(prefix string) Config {
	return Config{Prefix: prefix, L1Items: 10_000, L1TTL: 30 * time.Second,
		L2TTL: 10 * time.Minute, RedisTimeout: 100 * time.Millisecond}
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
	name := "multilevel_" + hex.EncodeToString(suffix)
	store, err := NewStore(ctx, pool, name)
	if err != nil {
		return err
	}
	cfg := DefaultConfig(name + ":")
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = store.Drop(cctx)
		// SCAN, not KEYS: KEYS blocks a large Redis while it walks every key.
		iter := rdb.Scan(cctx, 0, cfg.Prefix+"*", 100).Iterator()
		for iter.Next(cctx) {
			_ = rdb.Del(cctx, iter.Val()).Err()
		}
	}()
	if err := store.Save(ctx, "user:1", "Ada"); err != nil {
		return err
	}

	// Two instances of the service, sharing Redis and PostgreSQL.
	a, err := NewTier(ctx, rdb, store, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := NewTier(ctx, rdb, store, cfg)
	if err != nil {
		return err
	}
	defer b.Close()

	d := demo{a: a, b: b, out: stdout}
	if err := d.readThrough(ctx); err != nil {
		return err
	}
	return d.writeThrough(ctx)
}

// Command cache-aside puts Redis in front of PostgreSQL: read the cache,
// on a miss load the row once (singleflight) and store it with a jittered
// TTL, cache "not found" too, refresh hot keys early, and keep answering
// from PostgreSQL when Redis is down or slow.
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

// NewRedis returns a client for a cache: a deadline stops a command
// (ContextTimeoutEnabled) and nothing is retried behind the caller's back.
func NewRedis(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true,
		MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
}

// DefaultConfig: a product changes rarely; a Redis call gets 100 ms, after
// which the database answers instead.
func DefaultConfig(prefix string) Config {
	return Config{Prefix: prefix, TTL: 10 * time.Minute, NegativeTTL: 30 * time.Second,
		Jitter: 0.1, Beta: 1, RedisTimeout: 100 * time.Millisecond, LoadTimeout: 2 * time.Second}
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
	rdb := NewRedis(cmp.Or(getenv("REDIS_ADDR"), "localhost:6379"))
	defer rdb.Close()

	// A table and a key namespace of this run only: runs never collide.
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	table := "cache_aside_products_" + hex.EncodeToString(suffix)
	store, err := NewStore(ctx, pool, table, Product{"1", "Lamp", 1999}, Product{"2", "Desk", 15000})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = store.Drop(cctx)
		_ = rdb.Del(cctx, table+":v1:1", table+":v1:2", table+":v1:404").Err()
	}()
	// Log lines without a time, so the output can be compared.
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	cache := NewCache(rdb, DefaultConfig(table+":v1:"), log, store.Product)

	d := demo{cache: cache, store: store, rdb: rdb, out: stdout}
	for _, step := range []func(context.Context) error{
		d.missThenHit, d.coldStampede, d.negative, d.writeInvalidates, d.corrupt,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	// The failure case: a Redis that accepts connections and never answers.
	return d.redisHangs(ctx, DefaultConfig(table+":v1:"), log)
}

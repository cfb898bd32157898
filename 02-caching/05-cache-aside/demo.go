package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/redis/go-redis/v9"
)

// demo holds what each step of the lesson prints about.
type demo struct {
	cache *Cache[Product]
	store *Store
	rdb   *redis.Client
	out   io.Writer
}

func (d demo) get(ctx context.Context, label, id string) error {
	before := d.store.Queries.Load()
	p, err := d.cache.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		fmt.Fprintf(d.out, "%s: not found (database queries +%d)\n", label, d.store.Queries.Load()-before)
	case err != nil:
		return fmt.Errorf("%s: %w", label, err)
	default:
		fmt.Fprintf(d.out, "%s: %s %d cents (database queries +%d)\n",
			label, p.Name, p.PriceCents, d.store.Queries.Load()-before)
	}
	return nil
}

func (d demo) missThenHit(ctx context.Context) error {
	if err := d.get(ctx, "get 1, cold", "1"); err != nil {
		return err
	}
	return d.get(ctx, "get 1, cached", "1")
}

// coldStampede: 100 requests for a key nobody has cached yet.
func (d demo) coldStampede(ctx context.Context) error {
	before := d.store.Queries.Load()
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Go(func() { _, errs[i] = d.cache.Get(ctx, "2") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stampede: %w", err)
	}
	fmt.Fprintf(d.out, "100 concurrent gets of cold 2: database queries +%d\n", d.store.Queries.Load()-before)
	return nil
}

func (d demo) negative(ctx context.Context) error {
	if err := d.get(ctx, "get 404", "404"); err != nil {
		return err
	}
	return d.get(ctx, "get 404 again", "404")
}

// writeInvalidates: the database first, then the cache entry goes.
func (d demo) writeInvalidates(ctx context.Context) error {
	if err := d.store.SetPrice(ctx, "1", 2499); err != nil {
		return err
	}
	if err := d.cache.Invalidate(ctx, "1"); err != nil {
		return err
	}
	return d.get(ctx, "price of 1 set to 2499, get 1", "1")
}

// corrupt: a value another deploy wrote in a format this one cannot read.
func (d demo) corrupt(ctx context.Context) error {
	if err := d.rdb.Set(ctx, d.cache.cfg.Prefix+"1", "not json", 0).Err(); err != nil {
		return fmt.Errorf("corrupt: %w", err)
	}
	if err := d.get(ctx, "bad value under 1, get 1", "1"); err != nil {
		return err
	}
	return d.get(ctx, "get 1 again", "1")
}

// redisHangs points a second cache at a listener that never answers: every
// Redis call ends at RedisTimeout and PostgreSQL answers.
func (d demo) redisHangs(ctx context.Context, cfg Config, log *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	defer func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	rdb := NewRedis(ln.Addr().String())
	defer rdb.Close()
	hung := demo{cache: NewCache(rdb, cfg, log, d.store.Product), store: d.store, out: d.out}
	if err := hung.get(ctx, "redis hangs, get 1", "1"); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "redis errors counted: %d (each call gave up after %s)\n",
		hung.cache.Stats.RedisErrors.Load(), cfg.RedisTimeout)
	return nil
}

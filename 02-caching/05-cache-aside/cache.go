package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"
)

// ErrNotFound is what a Loader returns for a row that does not exist; the
// cache remembers it for NegativeTTL.
var ErrNotFound = errors.New("not found")

// Config tunes a Cache. Zero values are not defaults: NewCache needs them all.
type Config struct {
	Prefix       string        // key namespace, e.g. "product:v1:" (v1: the encoding)
	TTL          time.Duration // lifetime of a cached value
	NegativeTTL  time.Duration // lifetime of a cached "not found"
	Jitter       float64       // TTL spread, 0.1 = ±10%
	Beta         float64       // early refresh eagerness (XFetch), 1 = standard
	RedisTimeout time.Duration // budget of one Redis call: past it, read the database
	LoadTimeout  time.Duration // budget of one database load
}

// Stats counts what the cache did; read it with Snapshot.
type Stats struct {
	Hits, Misses, Loads, EarlyRefreshes, RedisErrors, DecodeErrors atomic.Int64
}

// Cache is cache-aside over Redis: read Redis, on a miss load from the
// source of truth once per key at a time (singleflight) and store the result.
// Redis is an optimisation: when it is down or slow, Get still answers.
type Cache[V any] struct {
	rdb   *redis.Client
	cfg   Config
	load  func(ctx context.Context, id string) (V, error)
	log   *slog.Logger
	group singleflight.Group
	rand  func() float64 // in (0, 1]; tests pin it
	Stats Stats
}

// NewCache returns a cache of values loaded by load.
func NewCache[V any](rdb *redis.Client, cfg Config, log *slog.Logger,
	load func(ctx context.Context, id string) (V, error)) *Cache[V] {
	return &Cache[V]{rdb: rdb, cfg: cfg, load: load, log: log,
		rand: func() float64 { return 1 - rand.Float64() }}
}

// entry is what Redis holds. Delta (how long the load took) and Expiry
// drive the early refresh; NotFound marks a negative entry.
type entry[V any] struct {
	Value    V     `json:"v,omitempty"`
	NotFound bool  `json:"nf,omitempty"`
	Delta    int64 `json:"d"` // microseconds
	Expiry   int64 `json:"e"` // unix milliseconds
}

// Get returns the value of id from Redis, or loads it. Concurrent Gets of
// one key in this process share one flight (singleflight): one Redis GET
// and, on a miss, one load. DoChan lets each caller leave at its own
// deadline while the flight runs under its own.
func (c *Cache[V]) Get(ctx context.Context, id string) (V, error) {
	var zero V
	key := c.cfg.Prefix + id
	ch := c.group.DoChan(key, func() (any, error) { return c.fetch(ctx, key, id) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return zero, fmt.Errorf("get %s: %w", id, res.Err)
		}
		return res.Val.(V), nil
	case <-ctx.Done():
		return zero, fmt.Errorf("get %s: %w", id, ctx.Err())
	}
}

// lookup reads and decodes the entry. Redis failing or a value that does
// not decode both read as a miss; the latter is logged with the key only
// (the value may hold personal data) and is overwritten by the load.
func (c *Cache[V]) lookup(ctx context.Context, key string) (e entry[V], hit bool) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	data, err := c.rdb.Get(rctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return e, false
	case err != nil:
		c.Stats.RedisErrors.Add(1)
		return e, false
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Expiry == 0 {
		c.Stats.DecodeErrors.Add(1)
		c.log.Warn("cache: undecodable value treated as a miss", "key", key, "bytes", len(data))
		return e, false
	}
	return e, true
}

// refreshEarly is XFetch (Vattani et al., VLDB 2015): refresh with a
// probability that grows as expiry nears and with how slow the load is, so
// one request reloads a hot key before it expires instead of all at once.
func (c *Cache[V]) refreshEarly(e entry[V]) bool {
	now := time.Now().UnixMilli()
	gap := float64(e.Delta) / 1000 * c.cfg.Beta * -math.Log(c.rand())
	if float64(now)+gap < float64(e.Expiry) {
		return false
	}
	c.Stats.EarlyRefreshes.Add(1)
	return true
}

// fetch is one flight: read Redis, and load on a miss or an early
// refresh. It must not end when the first caller goes away (the others
// wait for it): it keeps ctx's values, not its deadline. When an early
// refresh fails, the cached value, not yet expired, is the answer.
func (c *Cache[V]) fetch(ctx context.Context, key, id string) (any, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.LoadTimeout)
	defer cancel()
	e, hit := c.lookup(ctx, key)
	if hit && !c.refreshEarly(e) {
		c.Stats.Hits.Add(1)
		if e.NotFound {
			return nil, ErrNotFound
		}
		return e.Value, nil
	}
	if !hit {
		c.Stats.Misses.Add(1)
	}
	start := time.Now()
	v, err := c.load(ctx, id)
	c.Stats.Loads.Add(1)
	fresh := entry[V]{Value: v, Delta: max(time.Since(start).Microseconds(), 1)}
	ttl := c.jitter(c.cfg.TTL)
	switch {
	case errors.Is(err, ErrNotFound):
		fresh.NotFound, ttl = true, c.jitter(c.cfg.NegativeTTL)
	case err != nil && hit && !e.NotFound:
		return e.Value, nil
	case err != nil:
		return nil, fmt.Errorf("load: %w", err)
	}
	fresh.Expiry = start.Add(ttl).UnixMilli()
	c.store(ctx, key, fresh, ttl)
	if fresh.NotFound {
		return nil, ErrNotFound
	}
	return v, nil
}

// store writes the entry; a failure only costs a later miss.
func (c *Cache[V]) store(ctx context.Context, key string, e entry[V], ttl time.Duration) {
	data, err := json.Marshal(e)
	if err != nil {
		c.log.Error("cache: encode", "key", key, "err", err)
		return
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	if err := c.rdb.Set(rctx, key, data, ttl).Err(); err != nil {
		c.Stats.RedisErrors.Add(1)
	}
}

// jitter spreads TTLs by ±Jitter so keys filled together do not expire
// together (and stampede the database together).
func (c *Cache[V]) jitter(ttl time.Duration) time.Duration {
	f := 1 + c.cfg.Jitter*(2*c.rand()-1)
	return time.Duration(float64(ttl) * f)
}

// Invalidate deletes id's entry. Call it after the database write has
// committed; see the README for the race it leaves open.
func (c *Cache[V]) Invalidate(ctx context.Context, id string) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout)
	defer cancel()
	if err := c.rdb.Del(rctx, c.cfg.Prefix+id).Err(); err != nil {
		return fmt.Errorf("invalidate %s: %w", id, err)
	}
	return nil
}

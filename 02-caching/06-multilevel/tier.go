package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/redis/go-redis/v9"
)

// Source says which level answered a Get.
type Source string

// The levels, nearest first.
const (
	FromL1 Source = "L1"
	FromL2 Source = "Redis L2"
	FromDB Source = "PostgreSQL"
)

// Config tunes a Tier.
type Config struct {
	Prefix       string        // Redis keys and the invalidation channel
	L1Items      int64         // L1 capacity, entries
	L1TTL        time.Duration // bounds how long a lost invalidation can last
	L2TTL        time.Duration
	RedisTimeout time.Duration
}

// l1Entry remembers the epoch it was read in: a flush (Pub/Sub trouble)
// invalidates every entry older than it without touching the map.
type l1Entry struct {
	epoch uint64
	value string
}

// Tier is one instance's view: an in-process L1 (ristretto) over the
// shared Redis L2 over PostgreSQL. Every write publishes the key on a
// channel; every instance drops it from its L1 when the message arrives.
type Tier struct {
	cfg     Config
	l1      *ristretto.Cache[string, l1Entry]
	rdb     *redis.Client
	store   *Store
	sub     *redis.PubSub
	epoch   atomic.Uint64 // bumped by every invalidation
	flushed atomic.Uint64 // entries read before this epoch are void
	synced  atomic.Bool   // subscribed and no receive error since
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewTier subscribes to the invalidation channel and waits for the
// confirmation before it serves from L1.
func NewTier(ctx context.Context, rdb *redis.Client, store *Store, cfg Config) (*Tier, error) {
	l1, err := ristretto.NewCache(&ristretto.Config[string, l1Entry]{
		NumCounters: 10 * cfg.L1Items, MaxCost: cfg.L1Items, BufferItems: 64, IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("l1: %w", err)
	}
	t := &Tier{cfg: cfg, l1: l1, rdb: rdb, store: store}
	t.sub = rdb.Subscribe(ctx, cfg.Prefix+"invalidate")
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := t.sub.Receive(sctx); err != nil {
		_ = t.sub.Close()
		l1.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	t.synced.Store(true)
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	t.cancel = stop
	t.wg.Go(func() { t.listen(lctx) })
	return t, nil
}

// listen applies invalidations. A receive error means messages may have
// been lost: L1 is voided and bypassed until the (automatic) resubscribe
// is confirmed.
func (t *Tier) listen(ctx context.Context) {
	for {
		msg, err := t.sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			t.flush()
			t.synced.Store(true)
		case *redis.Message:
			t.epoch.Add(1)
			t.l1.Del(m.Payload)
		}
		if err != nil {
			t.synced.Store(false)
			t.flush()
			select { // Redis is away: do not spin
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func (t *Tier) flush() { t.flushed.Store(t.epoch.Add(1)) }

// Get reads L1, then Redis, then PostgreSQL, and fills the levels above.
// L1 is filled only if no invalidation arrived during the read, so a value
// read before a write cannot land in L1 after that write's message.
func (t *Tier) Get(ctx context.Context, key string) (string, Source, error) {
	epoch := t.epoch.Load()
	if e, ok := t.l1.Get(key); ok && t.synced.Load() && e.epoch >= t.flushed.Load() {
		return e.value, FromL1, nil
	}
	src := FromL2
	rctx, cancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
	v, err := t.rdb.Get(rctx, t.cfg.Prefix+key).Result()
	cancel()
	if err != nil { // a miss, or Redis is down or slow: ask the database
		src = FromDB
		if v, err = t.store.Load(ctx, key); err != nil {
			return "", "", err
		}
		rctx, cancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
		_ = t.rdb.Set(rctx, t.cfg.Prefix+key, v, t.cfg.L2TTL).Err() // best effort
		cancel()
	}
	if t.synced.Load() && t.epoch.Load() == epoch {
		t.l1.SetWithTTL(key, l1Entry{epoch: epoch, value: v}, 1, t.cfg.L1TTL)
	}
	return v, src, nil
}

// publish puts the new value into L2, then tells every instance (this
// one included) to drop its L1 copy. Two round trips, not one pipeline:
// the PUBLISH goes out only once L2 holds the new value, so when it fails
// only L1 copies are stale, for at most L1TTL. A failed SET deletes the
// key instead; if that fails too, Redis is away and L2 may keep the old
// value for up to L2TTL (the error says so).
func (t *Tier) publish(ctx context.Context, key, value string) error {
	t.l1.Del(key)
	rctx, cancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
	defer cancel()
	if err := t.rdb.Set(rctx, t.cfg.Prefix+key, value, t.cfg.L2TTL).Err(); err != nil {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.RedisTimeout)
		defer dcancel()
		if derr := t.rdb.Del(dctx, t.cfg.Prefix+key).Err(); derr != nil {
			return fmt.Errorf("publish %s: L2 may be stale: %w", key, errors.Join(err, derr))
		}
		return fmt.Errorf("publish %s: L2 dropped: %w", key, err)
	}
	pctx, pcancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
	defer pcancel()
	if err := t.rdb.Publish(pctx, t.cfg.Prefix+"invalidate", key).Err(); err != nil {
		return fmt.Errorf("publish %s: L1 copies stale up to L1TTL: %w", key, err)
	}
	return nil
}

// WriteThrough stores value in PostgreSQL, then in L2, then invalidates
// every L1. When it returns nil, no instance serves the old value once the
// message has arrived.
func (t *Tier) WriteThrough(ctx context.Context, key, value string) error {
	if err := t.store.Save(ctx, key, value); err != nil {
		return err
	}
	return t.publish(ctx, key, value)
}

// Settle waits until L1 has applied the queued writes (ristretto's Set is
// asynchronous); for demos and tests that need the next Get to see them.
func (t *Tier) Settle() { t.l1.Wait() }

// Close stops the listener and waits for it.
func (t *Tier) Close() error {
	t.cancel()
	err := t.sub.Close() // unblocks Receive
	t.wg.Wait()
	t.l1.Close()
	if err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("unsubscribe: %w", err)
	}
	return nil
}

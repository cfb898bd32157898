package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrQueueFull: the write-behind queue is full; the write was not taken.
var ErrQueueFull = errors.New("write-behind queue full")

// ErrClosed: the writer is shut down.
var ErrClosed = errors.New("write-behind closed")

// saveTimeout bounds one queued save; a database that stays locked
// longer loses the write (logged).
const saveTimeout = 30 * time.Second

// delTimeout bounds the DEL that drops a cache entry a failed SET may
// have left stale.
const delTimeout = time.Second

type write struct{ key, value string }

// WriteBehind answers a write once Redis holds it and saves it to
// PostgreSQL later, from a bounded queue. A full queue refuses writes
// instead of growing; Close saves everything queued.
type WriteBehind struct {
	rdb    *redis.Client
	store  *Store
	prefix string
	log    *slog.Logger
	mu     sync.Mutex // orders Redis SETs with sends on q; guards closed
	closed bool
	q      chan write
	stop   context.CancelFunc // ends the saves in flight, for Close
	done   chan struct{}      // closed when drain has returned
	lost   int                // writes drain gave up on once stopped; read after done
}

// NewWriteBehind starts the one goroutine that saves queued writes; the
// queue holds capacity writes (at least 1).
func NewWriteBehind(rdb *redis.Client, store *Store, prefix string, capacity int,
	log *slog.Logger) *WriteBehind {
	capacity = max(capacity, 1)
	ctx, stop := context.WithCancel(context.Background())
	w := &WriteBehind{rdb: rdb, store: store, prefix: prefix, log: log,
		q: make(chan write, capacity), stop: stop, done: make(chan struct{})}
	go w.drain(ctx)
	return w
}

// Set puts the value into Redis, where readers find it before PostgreSQL
// has it, then queues the save. Both happen under one lock, so two Sets of
// a key reach Redis and the queue in the same order: the value Redis keeps
// is the one PostgreSQL ends with. A failed SET may or may not have landed,
// so Set deletes the key (readers fall back to PostgreSQL) and refuses the
// write.
func (w *WriteBehind) Set(ctx context.Context, key, value string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if len(w.q) == cap(w.q) { // only Set sends, under mu: the room stays
		return fmt.Errorf("set %s: %w", key, ErrQueueFull)
	}
	if err := w.rdb.Set(ctx, w.prefix+key, value, time.Hour).Err(); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), delTimeout)
		defer cancel()
		if derr := w.rdb.Del(dctx, w.prefix+key).Err(); derr != nil {
			return fmt.Errorf("set %s: not taken, cache entry may be stale: %w",
				key, errors.Join(err, derr))
		}
		return fmt.Errorf("set %s: not taken: %w", key, err)
	}
	w.q <- write{key, value}
	return nil
}

// Get reads Redis, then PostgreSQL.
func (w *WriteBehind) Get(ctx context.Context, key string) (string, error) {
	v, err := w.rdb.Get(ctx, w.prefix+key).Result()
	if err == nil {
		return v, nil
	}
	return w.store.Load(ctx, key)
}

// drain saves writes in order until the queue is closed and empty, or ctx
// ends (Close gave up): then it counts the write in flight and the queued
// ones as lost. A save outlives the request that queued it: its deadline
// derives from ctx, not from the request.
func (w *WriteBehind) drain(ctx context.Context) {
	defer close(w.done)
	for wr := range w.q {
		if ctx.Err() != nil {
			w.lost++
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, saveTimeout)
		err := w.store.Save(sctx, wr.key, wr.value)
		cancel()
		if err != nil && ctx.Err() != nil {
			w.lost++
		} else if err != nil {
			// A real service retries or moves it to a durable outbox.
			w.log.Error("write-behind: save failed, write lost", "key", wr.key, "err", err)
		}
	}
}

// Close refuses new writes and waits until every queued one is saved. If
// ctx ends first, it stops the saver, waits for it to return and reports
// how many writes were not saved: nothing runs after Close returns, so the
// caller may close the pool.
func (w *WriteBehind) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.q)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		w.stop()
		return nil
	case <-ctx.Done():
	}
	w.stop()
	<-w.done
	if w.lost == 0 { // the last save finished as ctx ended
		return nil
	}
	return fmt.Errorf("write-behind: %d writes not saved: %w", w.lost, ctx.Err())
}

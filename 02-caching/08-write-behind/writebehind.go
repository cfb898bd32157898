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

type write struct{ key, value string }

// WriteBehind answers a write once Redis holds it and saves it to
// PostgreSQL later, from a bounded queue. A full queue refuses writes
// instead of growing; Close saves everything queued.
type WriteBehind struct {
	rdb    *redis.Client
	store  *Store
	prefix string
	log    *slog.Logger
	mu     sync.Mutex // guards closed and sends on q
	closed bool
	q      chan write
	wg     sync.WaitGroup
}

// NewWriteBehind starts the one goroutine that saves queued writes.
func NewWriteBehind(rdb *redis.Client, store *Store, prefix string, capacity int,
	log *slog.Logger) *WriteBehind {
	w := &WriteBehind{rdb: rdb, store: store, prefix: prefix, log: log, q: make(chan write, capacity)}
	w.wg.Go(w.drain)
	return w
}

// Set queues the write, then puts the value into Redis, where readers
// find it before PostgreSQL has it.
func (w *WriteBehind) Set(ctx context.Context, key, value string) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	select {
	case w.q <- write{key, value}:
	default:
		w.mu.Unlock()
		return fmt.Errorf("set %s: %w", key, ErrQueueFull)
	}
	w.mu.Unlock()
	if err := w.rdb.Set(ctx, w.prefix+key, value, time.Hour).Err(); err != nil {
		return fmt.Errorf("set %s: queued, cache not updated: %w", key, err)
	}
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

// drain saves writes in order until the queue is closed and empty. A
// save outlives the request that queued it: it has its own deadline.
func (w *WriteBehind) drain() {
	for wr := range w.q {
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		err := w.store.Save(ctx, wr.key, wr.value)
		cancel()
		if err != nil {
			// A real service retries or moves it to a durable outbox.
			w.log.Error("write-behind: save failed, write lost", "key", wr.key, "err", err)
		}
	}
}

// Close refuses new writes and waits until every queued one is saved, or
// ctx ends (then the rest is lost, and Close says so).
func (w *WriteBehind) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.q)
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("write-behind: %d writes not saved: %w", len(w.q), ctx.Err())
	}
}

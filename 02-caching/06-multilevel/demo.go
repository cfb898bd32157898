package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

type demo struct {
	a, b *Tier
	out  io.Writer
}

func (d demo) get(ctx context.Context, name string, t *Tier, key string) (string, error) {
	v, src, err := t.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("%s get %s: %w", name, key, err)
	}
	fmt.Fprintf(d.out, "%s get %s: %q from %s\n", name, key, v, src)
	return v, nil
}

func (d demo) readThrough(ctx context.Context) error {
	for _, s := range []struct {
		name string
		t    *Tier
	}{{"A", d.a}, {"B", d.b}, {"B", d.b}} {
		if _, err := d.get(ctx, s.name, s.t, "user:1"); err != nil {
			return err
		}
		s.t.Settle()
	}
	return nil
}

// writeThrough: A writes; B holds the old value in its L1 until the
// invalidation arrives, which the loop waits for (bounded).
func (d demo) writeThrough(ctx context.Context) error {
	if err := d.a.WriteThrough(ctx, "user:1", "Ada Lovelace"); err != nil {
		return err
	}
	fmt.Fprintln(d.out, `A write-through user:1 = "Ada Lovelace": PostgreSQL, Redis, then PUBLISH`)
	deadline := time.Now().Add(2 * time.Second)
	for {
		v, src, err := d.b.Get(ctx, "user:1")
		if err != nil {
			return err
		}
		if v == "Ada Lovelace" {
			fmt.Fprintf(d.out, "B get user:1 once the invalidation arrived: %q from %s\n", v, src)
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("instance B still serves the old value after 2s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeBehind: with the table locked (a slow database), the queue of 2
// fills and refuses; unlocked, Close saves every accepted write.
func (d demo) writeBehind(ctx context.Context, pool *pgxpool.Pool, store *Store, log *slog.Logger) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE "+store.table+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	w := NewWriteBehind(d.a, 2, log)
	accepted := 0
	for i := 1; ; i++ {
		err := w.Set(ctx, "order:"+strconv.Itoa(i), "paid")
		if errors.Is(err, ErrQueueFull) {
			fmt.Fprintf(d.out, "write-behind, queue of 2, database locked: %d writes accepted, then %v\n",
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
	v, src, err := d.b.Get(ctx, "order:1")
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "B get order:1 before PostgreSQL has it: %q from %s\n", v, src)
	if err := tx.Rollback(ctx); err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		return err
	}
	var saved int
	if err := store.pool.QueryRow(ctx, "SELECT count(*) FROM "+store.table+
		" WHERE k LIKE 'order:%'").Scan(&saved); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	fmt.Fprintf(d.out, "database unlocked, Close: %d of %d accepted writes saved\n", saved, accepted)
	return nil
}

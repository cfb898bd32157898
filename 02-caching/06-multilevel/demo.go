package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
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

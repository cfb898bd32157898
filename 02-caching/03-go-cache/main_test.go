package main

// The tests are not parallel: they count goroutines and heap.

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/patrickmn/go-cache"
	"go.uber.org/goleak"
)

func TestRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out bytes.Buffer
	if err := run(t.Context(), nil, &out); err != nil {
		t.Fatal(err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// TestBuiltInJanitorIsALeak is go-cache #166: goleak reports the janitor
// of a cache created with a cleanup interval for as long as it is reachable.
func TestBuiltInJanitorIsALeak(t *testing.T) {
	opts := goleak.IgnoreCurrent()
	c := cache.New(time.Minute, time.Minute)
	err := goleak.Find(opts)
	if err == nil || !strings.Contains(err.Error(), "go-cache") {
		t.Errorf("goleak.Find = %v, want the go-cache janitor reported", err)
	}
	c.Set("k", 1, 0) // c stays reachable until here
}

func TestStartJanitorOwnsItsGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := cache.New(time.Minute, 0)
	evicted := make(chan string, 1)
	c.OnEvicted(NotifyEvicted(evicted))
	c.Set("gone", 1, time.Millisecond)
	c.Set("kept", 2, time.Minute)
	stop := StartJanitor(t.Context(), c, 5*time.Millisecond)
	select {
	case k := <-evicted:
		if k != "gone" {
			t.Errorf("evicted %q, want gone", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the janitor deleted nothing")
	}
	stop()
	if _, ok := c.Get("kept"); !ok || c.ItemCount() != 1 {
		t.Errorf("kept found=%t, items=%d; want true, 1", ok, c.ItemCount())
	}
	// Stopping through the context works too.
	ctx, cancel := context.WithCancel(t.Context())
	stop = StartJanitor(ctx, c, time.Millisecond)
	cancel()
	stop()
}

// TestEvictionNotifyNeverBlocksTheJanitor: five items expire at once and
// the channel has one slot; the janitor deletes them all and stop returns.
func TestEvictionNotifyNeverBlocksTheJanitor(t *testing.T) {
	c := cache.New(time.Minute, 0)
	evicted := make(chan string, 1)
	c.OnEvicted(NotifyEvicted(evicted))
	for i := range 5 {
		c.Set("k"+strconv.Itoa(i), i, time.Millisecond)
	}
	stop := StartJanitor(t.Context(), c, 5*time.Millisecond)
	select {
	case <-evicted:
	case <-time.After(5 * time.Second):
		t.Fatal("the janitor deleted nothing")
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop hangs: the janitor is blocked in OnEvicted")
	}
	if n := c.ItemCount(); n != 0 {
		t.Errorf("items = %d, want 0", n)
	}
}

func TestNoSizeBound(t *testing.T) {
	c := cache.New(time.Minute, 0)
	const n = 50_000
	grew := HeapGrowth(func() {
		for i := range n {
			c.Set("k"+strconv.Itoa(i), i, 0)
		}
	})
	if c.ItemCount() != n {
		t.Errorf("items = %d, want %d: nothing is ever evicted for size", c.ItemCount(), n)
	}
	if grew < n*50 {
		t.Errorf("heap grew %d bytes for %d entries", grew, n)
	}
}

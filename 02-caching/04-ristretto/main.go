// Command ristretto shows dgraph-io/ristretto v2 as a bounded in-process
// cache: how to size it (NumCounters, MaxCost, cost per item), that Set is
// asynchronous, TTLs, metrics, the admission policy keeping a hot set
// through a scan, and the IgnoreInternalCost pitfall.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// NewCache sizes a cache for about items entries of cost 1 each.
// https://pkg.go.dev/github.com/dgraph-io/ristretto/v2#Config
func NewCache[V any](items int64, ignoreInternalCost bool) (*ristretto.Cache[string, V], error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, V]{
		NumCounters: 10 * items, // frequency counters: ~10× the entries it holds
		MaxCost:     items,      // capacity, in the unit of the cost passed to Set
		BufferItems: 64,         // Get batches per stripe: the recommended value
		Metrics:     true,       // a few atomic adds per call; off in hot paths
		// By default each entry is also charged its internal size (~56),
		// which is right only when cost is in bytes.
		IgnoreInternalCost: ignoreInternalCost,
	})
	if err != nil {
		return nil, fmt.Errorf("ristretto: %w", err)
	}
	return c, nil
}

func run(_ context.Context, _ func(string) string, stdout io.Writer) error {
	c, err := NewCache[string](10_000, true)
	if err != nil {
		return err
	}
	// Close stops ristretto's goroutines; a cache without it leaks them.
	defer c.Close()

	// Set only queues the item: a Get right after may miss, and a full
	// buffer drops the Set (it returns false). Wait when it must be visible.
	for i := range 10_000 {
		c.Set("user:"+strconv.Itoa(i), "name", 1)
	}
	_, atOnce := c.Get("user:9999")
	c.Wait()
	_, afterWait := c.Get("user:9999")
	fmt.Fprintf(stdout, "set 10000 items, get the last: found at once=%t, after Wait=%t\n",
		atOnce, afterWait)

	c.SetWithTTL("session:1", "token", 1, 50*time.Millisecond)
	c.Wait()
	_, before := c.Get("session:1")
	time.Sleep(100 * time.Millisecond) // let the TTL pass
	_, after := c.Get("session:1")
	fmt.Fprintf(stdout, "TTL 50ms: found at once=%t, after 100ms=%t\n", before, after)

	for _, ignore := range []bool{false, true} {
		kept, err := fill(ignore, 1000)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "MaxCost 1000, cost 1, IgnoreInternalCost=%t: %d of 1000 items kept\n",
			ignore, kept)
	}

	kept, rejected, err := HotSetUnderScan(500, 10_000)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hot set of 500 in 1000 slots, then a scan of 10000 one-off keys: "+
		"%d of 500 hot keys kept, %d scan keys rejected by admission\n", kept, rejected)

	m := c.Metrics
	fmt.Fprintf(stdout, "metrics: hits=%d misses=%d ratio=%.2f sets dropped=%d rejected=%d\n",
		m.Hits(), m.Misses(), m.Ratio(), m.SetsDropped(), m.SetsRejected())
	return nil
}

package main

import (
	"fmt"
	"runtime"
	"strconv"

	"github.com/dgraph-io/ristretto/v2"
)

// fill sets n items of cost 1 into a cache of MaxCost n and counts how
// many it kept. With the internal cost, each item costs ~57, not 1.
func fill(ignoreInternalCost bool, n int64) (int, error) {
	c, err := NewCache[int64](n, ignoreInternalCost)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	for i := range n {
		c.Set("k"+strconv.FormatInt(i, 10), i, 1)
	}
	c.Wait()
	kept := 0
	for i := range n {
		if _, ok := c.Get("k" + strconv.FormatInt(i, 10)); ok {
			kept++
		}
	}
	return kept, nil
}

// HotSetUnderScan fills a cache of 2×hot slots with hot keys, reads them
// until the policy has counted ten reads per key, then sets scan keys read
// by nobody. TinyLFU admits a newcomer only if it is used more than the
// entry it would evict, so the scan cannot flush the hot set — an LRU
// would keep none of it.
//
// Reads reach the policy through a lossy buffer (a batch is dropped when the
// policy is busy), so the loop watches Metrics.GetsKept, not a pass count.
func HotSetUnderScan(hot, scan int) (kept int, rejected uint64, err error) {
	// BufferItems 1 hands every read to the policy at once. With 64, a
	// partly filled batch waits in a sync.Pool, which a GC empties — and
	// under the race detector, which drops pooled items on purpose, the
	// policy sees no reads at all and the hot set is lost.
	c, err := ristretto.NewCache(&ristretto.Config[string, int]{
		NumCounters: int64(20 * hot), MaxCost: int64(2 * hot), BufferItems: 1,
		Metrics: true, IgnoreInternalCost: true,
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ristretto: %w", err)
	}
	defer c.Close()
	for i := range hot {
		c.Set("hot"+strconv.Itoa(i), i, 1)
	}
	c.Wait()
	for pass := 0; c.Metrics.GetsKept() < uint64(10*hot) && pass < 10_000; pass++ {
		for i := range hot {
			c.Get("hot" + strconv.Itoa(i))
			runtime.Gosched() // let the policy's goroutine keep up
		}
	}
	for i := range scan {
		c.Set("scan"+strconv.Itoa(i), i, 1)
	}
	c.Wait()
	for i := range hot {
		if _, ok := c.Get("hot" + strconv.Itoa(i)); ok {
			kept++
		}
	}
	return kept, c.Metrics.SetsRejected(), nil
}

package main

import (
	"container/list"
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/maypok86/otter/v2"
	gocache "github.com/patrickmn/go-cache"
	"github.com/redis/go-redis/v9"
)

// kv is the surface every cache in the comparison offers.
type kv struct {
	get func(k string) bool
	set func(k string, v int)
}

const benchKeys = 10_000

func caches(b *testing.B) map[string]kv {
	b.Helper()
	r, err := NewCache[int](2*benchKeys, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	o := otter.Must(&otter.Options[string, int]{MaximumSize: 2 * benchKeys})
	g := gocache.New(time.Hour, 0)
	var m sync.Map
	rdb := redis.NewClient(&redis.Options{Addr: testkit.Require(b, testkit.Redis), PoolSize: 64})
	prefix := testkit.Name(b) + ":"
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	ctx := b.Context()
	return map[string]kv{
		"ristretto": {func(k string) bool { _, ok := r.Get(k); return ok }, func(k string, v int) { r.Set(k, v, 1) }},
		"otter": {func(k string) bool { _, ok := o.GetIfPresent(k); return ok },
			func(k string, v int) { o.Set(k, v) }},
		"go-cache": {func(k string) bool { _, ok := g.Get(k); return ok }, func(k string, v int) { g.SetDefault(k, v) }},
		"sync.Map": {func(k string) bool { _, ok := m.Load(k); return ok }, func(k string, v int) { m.Store(k, v) }},
		"redis": {func(k string) bool { return rdb.Get(ctx, prefix+k).Err() == nil },
			func(k string, v int) { rdb.Set(ctx, prefix+k, v, time.Hour) }},
	}
}

var cacheOrder = []string{"ristretto", "otter", "go-cache", "sync.Map", "redis"}

// BenchmarkCache: Get of a present key and Set of a new value, on one
// goroutine and from GOMAXPROCS goroutines (RunParallel).
func BenchmarkCache(b *testing.B) {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	all := caches(b)
	for _, name := range cacheOrder {
		c := all[name]
		for i, k := range keys {
			c.set(k, i)
		}
		b.Run(name+"/get/serial", func(b *testing.B) {
			i := 0
			for b.Loop() {
				c.get(keys[i%benchKeys])
				i++
			}
		})
		b.Run(name+"/get/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(benchKeys)
				for pb.Next() {
					c.get(keys[i%benchKeys])
					i++
				}
			})
		})
		b.Run(name+"/set/serial", func(b *testing.B) {
			i := 0
			for b.Loop() {
				c.set(keys[i%benchKeys], i)
				i++
			}
		})
		b.Run(name+"/set/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(benchKeys)
				for pb.Next() {
					c.set(keys[i%benchKeys], i)
					i++
				}
			})
		})
	}
}

// zipfTrace is a fixed-seed trace of n requests over keys 0..space-1,
// skewed like real traffic (s = 1.01: a long tail).
func zipfTrace(n, space int) []uint64 {
	z := rand.NewZipf(rand.New(rand.NewPCG(42, 1)), 1.01, 1, uint64(space-1))
	t := make([]uint64, n)
	for i := range t {
		t[i] = z.Uint64()
	}
	return t
}

// lru is the plain least-recently-used baseline.
type lru struct {
	size  int
	order *list.List
	items map[uint64]*list.Element
}

func (l *lru) access(k uint64) bool {
	if e, ok := l.items[k]; ok {
		l.order.MoveToFront(e)
		return true
	}
	l.items[k] = l.order.PushFront(k)
	if l.order.Len() > l.size {
		old := l.order.Back()
		l.order.Remove(old)
		delete(l.items, old.Value.(uint64))
	}
	return false
}

// beladyHits is Belady's MIN, the optimal offline policy: on a miss with a
// full cache, evict the key whose next use is farthest in the future. No
// online cache can beat it, which makes it the ceiling to compare against.
func beladyHits(trace []uint64, size int) int {
	next := make([]int, len(trace)) // index of the next use of trace[i]
	last := map[uint64]int{}
	for i := len(trace) - 1; i >= 0; i-- {
		if j, ok := last[trace[i]]; ok {
			next[i] = j
		} else {
			next[i] = len(trace)
		}
		last[trace[i]] = i
	}
	cached := map[uint64]int{} // key → its next use
	h := &nextUseHeap{}
	hits := 0
	for i, k := range trace {
		if _, ok := cached[k]; ok {
			hits++
		} else if len(cached) >= size {
			for { // pop the farthest next use that is still current
				top := h.pop()
				if cur, ok := cached[top.key]; ok && cur == top.next {
					delete(cached, top.key)
					break
				}
			}
		}
		cached[k] = next[i]
		h.push(nextUse{k, next[i]})
	}
	return hits
}

type nextUse struct {
	key  uint64
	next int
}

// nextUseHeap is a max-heap on next (stale entries are skipped on pop).
type nextUseHeap struct{ a []nextUse }

func (h *nextUseHeap) push(x nextUse) {
	h.a = append(h.a, x)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p].next >= h.a[i].next {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *nextUseHeap) pop() nextUse {
	top := h.a[0]
	n := len(h.a) - 1
	h.a[0] = h.a[n]
	h.a = h.a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.a[l].next > h.a[m].next {
			m = l
		}
		if r < n && h.a[r].next > h.a[m].next {
			m = r
		}
		if m == i {
			return top
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
}

// BenchmarkHitRatio replays one Zipf trace (fixed seed, 100,000 keys,
// 500,000 requests) against each cache at 1% and 10% of the key space,
// on one goroutine (ristretto drops Sets under contention), with
// cache-aside: a miss is followed by a Set. Reported: hit% and hit% as a
// share of Belady's MIN on the same trace (ofMIN%). go-cache has no size
// bound: its figure is that of an unbounded cache, above MIN's.
func BenchmarkHitRatio(b *testing.B) {
	const space, requests = 100_000, 500_000
	trace := zipfTrace(requests, space)
	keys := make([]string, space)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	for _, pct := range []int{1, 10} {
		size := space * pct / 100
		optimal := float64(beladyHits(trace, size)) / requests
		policies := []struct {
			name string
			run  func() int
		}{
			{"belady_min", func() int { return beladyHits(trace, size) }},
			{"ristretto", func() int {
				c, err := ristretto.NewCache(&ristretto.Config[string, int]{NumCounters: int64(10 * size),
					MaxCost: int64(size), BufferItems: 64, IgnoreInternalCost: true})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				return replay(trace, keys, func(k string) bool { _, ok := c.Get(k); return ok },
					func(k string) { c.Set(k, 0, 1) })
			}},
			{"otter", func() int {
				c := otter.Must(&otter.Options[string, int]{MaximumSize: size})
				return replay(trace, keys, func(k string) bool { _, ok := c.GetIfPresent(k); return ok },
					func(k string) { c.Set(k, 0) })
			}},
			{"lru", func() int {
				l := &lru{size: size, order: list.New(), items: map[uint64]*list.Element{}}
				hits := 0
				for _, k := range trace {
					if l.access(k) {
						hits++
					}
				}
				return hits
			}},
			{"go-cache_unbounded", func() int {
				c := gocache.New(time.Hour, 0)
				return replay(trace, keys, func(k string) bool { _, ok := c.Get(k); return ok },
					func(k string) { c.SetDefault(k, 0) })
			}},
		}
		for _, p := range policies {
			b.Run(strconv.Itoa(pct)+"pct/"+p.name, func(b *testing.B) {
				var hits int
				for b.Loop() {
					hits = p.run()
				}
				ratio := float64(hits) / requests
				b.ReportMetric(100*ratio, "hit%")
				b.ReportMetric(100*ratio/optimal, "ofMIN%")
			})
		}
	}
}

func replay(trace []uint64, keys []string, get func(string) bool, set func(string)) int {
	hits := 0
	for _, k := range trace {
		if get(keys[k]) {
			hits++
		} else {
			set(keys[k])
		}
	}
	return hits
}

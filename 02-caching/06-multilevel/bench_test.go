package main

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkInvalidationDelay: from A's write-through returning to B, which
// held the old value in L1, reading the new one — the window in which B
// serves stale data. ns/op is that window. Compare with
// 07-client-side-cache's benchmark of the same name.
func BenchmarkInvalidationDelay(b *testing.B) {
	f := setup(b, time.Minute)
	a, bb := f.tier(b, f.addr), f.tier(b, f.addr)
	i := 0
	for b.Loop() {
		b.StopTimer()
		old, next := strconv.Itoa(i), strconv.Itoa(i+1)
		if err := a.WriteThrough(b.Context(), "k", old); err != nil {
			b.Fatal(err)
		}
		for { // until B serves the old value from L1 (untimed)
			v, src, err := bb.Get(b.Context(), "k")
			if err != nil {
				b.Fatal(err)
			}
			bb.Settle()
			if v == old && src == FromL1 {
				break
			}
		}
		if err := a.WriteThrough(b.Context(), "k", next); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for {
			v, _, err := bb.Get(b.Context(), "k")
			if err != nil {
				b.Fatal(err)
			}
			if v == next {
				break
			}
		}
		i += 2
	}
}

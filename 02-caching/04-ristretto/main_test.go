package main

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
	"go.uber.org/goleak"
)

// TestRun is not parallel: goleak checks that every cache run created was
// closed (ristretto starts goroutines per cache, ristretto #422).
func TestRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out bytes.Buffer
	if err := run(t.Context(), nil, &out); err != nil {
		t.Fatal(err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

func TestAdmissionKeepsHotSetUnderScan(t *testing.T) {
	t.Parallel()
	kept, rejected, err := HotSetUnderScan(500, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	// TinyLFU is probabilistic: most, not all, of the hot set survives.
	// An LRU of the same size keeps none of it after the scan.
	if kept < 400 || rejected == 0 {
		t.Errorf("kept %d of 500 hot keys, %d scan keys rejected; want ≥ 400 and > 0", kept, rejected)
	}
}

func TestInternalCostPitfall(t *testing.T) {
	t.Parallel()
	charged, err := fill(false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ignored, err := fill(true, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if charged > 20 || ignored != 1000 {
		t.Errorf("kept %d with internal cost, %d without; want ≤ 20 and 1000", charged, ignored)
	}
}

// TestSetIsAsynchronous: Set returns before the item is visible. One try
// could lose the race; five in a row do not.
func TestSetIsAsynchronous(t *testing.T) {
	t.Parallel()
	for try := range 5 {
		c, err := NewCache[int](10_000, true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10_000 {
			c.Set(strconv.Itoa(i), i, 1)
		}
		_, found := c.Get("9999")
		c.Close()
		if !found {
			return
		}
		t.Logf("try %d: the last Set was already applied", try)
	}
	t.Error("every Get right after Set found the item: Set looks synchronous")
}

func TestNewCacheRejectsBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := NewCache[int](0, true); err == nil {
		t.Error("NewCache(0) accepted a cache with no counters and no capacity")
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

func client(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testkit.Require(t, testkit.Redis)})
	prefix := testkit.Name(t) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

func TestRun(t *testing.T) {
	t.Parallel()
	_, prefix := client(t)
	getenv := testkit.Getenv(t, map[string]string{"KEY_PREFIX": prefix})
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, out.String())
	}
}

func TestLimitHoldsExactlyAtTheBoundary(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	l, err := NewLimiter(rdb, 3, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.UnixMicro(1_700_000_000_000_000)
	steps := []struct {
		at      time.Duration
		allowed bool
		retry   time.Duration
	}{
		{0, true, 0},
		{10 * time.Millisecond, true, 0},
		{20 * time.Millisecond, true, 0},
		{30 * time.Millisecond, false, 970 * time.Millisecond},
		{time.Second - time.Microsecond, false, time.Microsecond}, // t0 still inside
		{time.Second, true, 0},                                    // t0 just left: one slot
		{time.Second + time.Microsecond, false, 10*time.Millisecond - time.Microsecond},
		{time.Second + 10*time.Millisecond, true, 0}, // t0+10ms left
	}
	for _, s := range steps {
		d, err := l.Allow(t.Context(), prefix+"k", t0.Add(s.at))
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != s.allowed || d.RetryAfter != s.retry {
			t.Errorf("t+%v: %+v, want allowed=%t retry=%v", s.at, d, s.allowed, s.retry)
		}
	}
	// Keys are independent.
	if d, _ := l.Allow(t.Context(), prefix+"other", t0.Add(30*time.Millisecond)); !d.Allowed {
		t.Error("another key was limited")
	}
}

// TestLimitHoldsUnderConcurrency: 50 requests at the same instant from 50
// goroutines, limit 10: the script is atomic, so exactly 10 pass.
func TestLimitHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	l, err := NewLimiter(rdb, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			d, err := l.Allow(t.Context(), prefix+"k", now)
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 10 {
		t.Errorf("allowed %d of 50, want 10", n)
	}
}

func TestLimiterRejectsBadSettings(t *testing.T) {
	t.Parallel()
	for _, s := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Second}, {-1, time.Second}, {1, 0}, {1, time.Microsecond}} {
		if _, err := NewLimiter(nil, s.limit, s.window); err == nil {
			t.Errorf("NewLimiter(%d, %v) accepted", s.limit, s.window)
		}
	}
}

func TestLockOwnership(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	ctx := t.Context()
	key := prefix + "lock"
	a, err := Acquire(ctx, rdb, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, rdb, key, time.Minute); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: %v, want ErrLocked", err)
	}
	// Another owner — same key, its own token — cannot release A's lock.
	intruder := &Lock{rdb: rdb, key: key, token: "not-a-token"}
	if err := intruder.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("release by another owner: %v, want ErrNotHeld", err)
	}
	if got := rdb.Get(ctx, key).Val(); got != a.token {
		t.Fatalf("lock value after a foreign release = %q, want A's token", got)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatalf("owner release: %v", err)
	}
	if err := a.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Errorf("second release: %v, want ErrNotHeld", err)
	}
	b, err := Acquire(ctx, rdb, key, time.Minute)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	if b.Fence <= a.Fence {
		t.Errorf("fence %d after %d: must grow", b.Fence, a.Fence)
	}
}

func TestLockExpiryFreesIt(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	key := prefix + "lock"
	a, err := Acquire(t.Context(), rdb, key, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var b *Lock
	testkit.Eventually(t, 3*time.Second, func() error {
		b, err = Acquire(t.Context(), rdb, key, time.Minute)
		return err
	})
	if err := a.Release(t.Context()); !errors.Is(err, ErrNotHeld) {
		t.Errorf("expired owner's release: %v, want ErrNotHeld", err)
	}
	if rdb.Get(t.Context(), key).Val() != b.token {
		t.Error("the expired owner's release removed the new owner's lock")
	}
	// The resource refuses the stale owner's write.
	if err := WriteFenced(t.Context(), rdb, prefix+"doc", b.Fence, "b"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFenced(t.Context(), rdb, prefix+"doc", a.Fence, "a"); !errors.Is(err, ErrStaleFence) {
		t.Errorf("stale write: %v, want ErrStaleFence", err)
	}
	if v := rdb.HGet(t.Context(), prefix+"doc", "value").Val(); v != "b" {
		t.Errorf("doc = %q, want b", v)
	}
	if _, err := Acquire(t.Context(), rdb, key, 0); err == nil {
		t.Error("Acquire with a zero TTL was accepted")
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

func TestRun(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.Redis)
	getenv := testkit.Getenv(t, map[string]string{"KEY_PREFIX": testkit.Name(t) + ":"})
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, out.String())
	}
	rdb := redis.NewClient(&redis.Options{Addr: testkit.Endpoint(testkit.Redis)})
	defer rdb.Close()
	if n, err := rdb.Exists(t.Context(), getenv("KEY_PREFIX")+"user:1").Result(); err != nil || n != 0 {
		t.Errorf("run left its key behind: exists=%d (%v)", n, err)
	}
}

// TestCleanupFailsWithinItsDeadline: the server stops answering; the
// deferred delete ends at its own deadline and says so.
func TestCleanupFailsWithinItsDeadline(t *testing.T) {
	t.Parallel()
	p := faultproxy.New(t, testkit.Require(t, testkit.Redis))
	// No socket timeouts: only deleteKeys's deadline can end the call.
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), ContextTimeoutEnabled: true,
		MaxRetries: -1, ReadTimeout: -1, WriteTimeout: -1})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	p.Blackhole(t)
	done := make(chan error, 1)
	go func() { done <- deleteKeys(t.Context(), c, 200*time.Millisecond, testkit.Name(t)) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "clean up") {
			t.Errorf("deleteKeys = %v, want a clean up error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deleteKeys hangs on a server that does not answer")
	}
}

func clients(t *testing.T, bAddr string, staleness time.Duration) (a, b *redis.Client, key string) {
	t.Helper()
	addr := testkit.Require(t, testkit.Redis)
	a = redis.NewClient(&redis.Options{Addr: addr})
	b = NewCachingClient(bAddr, staleness)
	key = testkit.Name(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Del(ctx, key).Err()
		_ = a.Close()
		_ = b.Close()
	})
	if err := a.Set(t.Context(), key, "v1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	return a, b, key
}

func TestWritesElsewhereInvalidate(t *testing.T) {
	t.Parallel()
	a, b, key := clients(t, testkit.Endpoint(testkit.Redis), time.Minute)
	for range 3 {
		if v := b.Get(t.Context(), key).Val(); v != "v1" {
			t.Fatalf("get = %q", v)
		}
	}
	if s := b.CSCStats(); s.Hits < 2 || s.Misses != 1 {
		t.Fatalf("stats %+v: want 1 miss then hits — the cache is off", s)
	}
	if err := a.Set(t.Context(), key, "v2", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := readUntil(t.Context(), b, key, "v2", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if v := b.Get(t.Context(), key).Val(); v != "v2" {
			t.Fatalf("read %d after the invalidation: %q", i, v)
		}
	}
}

// TestMaxStalenessBoundsALostInvalidation: B's connection stops delivering
// (no error), so the invalidation never arrives; B serves the old value
// from memory, but not past MaxStaleness.
func TestMaxStalenessBoundsALostInvalidation(t *testing.T) {
	t.Parallel()
	proxy := faultproxy.New(t, testkit.Require(t, testkit.Redis))
	a, b, key := clients(t, proxy.Addr(), time.Second)
	for range 2 {
		if v := b.Get(t.Context(), key).Val(); v != "v1" {
			t.Fatalf("get = %q", v)
		}
	}
	proxy.AddToxic(t, "stuck", "timeout", "downstream", `{"timeout": 0}`)
	if err := a.Set(t.Context(), key, "v2", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if v := b.Get(t.Context(), key).Val(); v != "v1" {
		t.Fatalf("right after the lost invalidation: %q, want the stale v1 from memory", v)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		v, err := b.Get(ctx, key).Result()
		if err == nil && v == "v1" {
			return errors.New("still serving v1")
		}
		return nil // a timeout (Redis unreachable) or v2: not the stale value
	})
}

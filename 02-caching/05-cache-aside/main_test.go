package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

func TestRun(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.Postgres)
	testkit.Require(t, testkit.Redis)
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), testkit.Getenv(t, nil), &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, out.String())
	}
}

// fixture is one test's table, Redis client and key prefix.
type fixture struct {
	store  *Store
	rdb    *redis.Client
	prefix string
	logs   *testkit.Buffer
}

func setup(t *testing.T) fixture {
	t.Helper()
	dsn := testkit.Require(t, testkit.Postgres)
	addr := testkit.Require(t, testkit.Redis)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal("connect")
	}
	t.Cleanup(pool.Close)
	name := testkit.Name(t)
	store, err := NewStore(t.Context(), pool, name, Product{"1", "Lamp", 1999}, Product{"2", "Desk", 15000})
	if err != nil {
		t.Fatal(err)
	}
	rdb := NewRedis(addr)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = store.Drop(ctx)
		if keys, _ := rdb.Keys(ctx, name+":*").Result(); len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	return fixture{store: store, rdb: rdb, prefix: name + ":v1:", logs: &testkit.Buffer{}}
}

// cache returns a cache over rdb (the fixture's, or one through a proxy).
func (f fixture) cache(rdb *redis.Client) *Cache[Product] {
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	return NewCache(rdb, DefaultConfig(f.prefix), log, f.store.Product)
}

func TestColdKeyReachesTheDatabaseOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// A healthy Redis: under -race on a busy machine 100 concurrent GETs
	// can pass the demo's 100 ms budget, and a Redis too slow to answer
	// legitimately costs a second load (TestRedisFaults covers that).
	cfg := DefaultConfig(f.prefix)
	cfg.RedisTimeout = 2 * time.Second
	c := NewCache(f.rdb, cfg, slog.New(slog.NewTextHandler(f.logs, nil)), f.store.Product)
	var wg sync.WaitGroup
	errs := make([]error, 100)
	got := make([]Product, 100)
	for i := range errs {
		wg.Go(func() { got[i], errs[i] = c.Get(t.Context(), "2") })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, p := range got {
		if p.Name != "Desk" {
			t.Fatalf("get %d = %+v", i, p)
		}
	}
	if n := f.store.Queries.Load(); n != 1 {
		t.Errorf("100 concurrent cold gets ran %d queries, want 1 (redis errors: %d)",
			n, c.Stats.RedisErrors.Load())
	}
}

func TestNotFoundIsCached(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.cache(f.rdb)
	for i := range 3 {
		if _, err := c.Get(t.Context(), "404"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get %d: %v, want ErrNotFound", i, err)
		}
	}
	if n := f.store.Queries.Load(); n != 1 {
		t.Errorf("3 gets of a missing row ran %d queries, want 1", n)
	}
	cfg := DefaultConfig(f.prefix)
	ttl := f.rdb.PTTL(t.Context(), f.prefix+"404").Val()
	if maxTTL := time.Duration(float64(cfg.NegativeTTL) * (1 + cfg.Jitter)); ttl <= 0 || ttl > maxTTL {
		t.Errorf("negative entry TTL = %v, want (0, %v]", ttl, maxTTL)
	}
}

func TestTTLJitter(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cfg := DefaultConfig(f.prefix)
	for _, tt := range []struct {
		id       string
		rand     float64
		min, max time.Duration
	}{
		// rand→0 gives TTL×(1−Jitter), rand=1 gives TTL×(1+Jitter).
		{"1", 1e-12, time.Duration(float64(cfg.TTL)*(1-cfg.Jitter)) - time.Second,
			time.Duration(float64(cfg.TTL) * (1 - cfg.Jitter))},
		{"2", 1, cfg.TTL * 105 / 100, time.Duration(float64(cfg.TTL) * (1 + cfg.Jitter))},
	} {
		c := f.cache(f.rdb)
		c.rand = func() float64 { return tt.rand }
		if _, err := c.Get(t.Context(), tt.id); err != nil {
			t.Fatal(err)
		}
		if ttl := f.rdb.PTTL(t.Context(), f.prefix+tt.id).Val(); ttl < tt.min || ttl > tt.max {
			t.Errorf("rand=%g: TTL %v, want [%v, %v]", tt.rand, ttl, tt.min, tt.max)
		}
	}
}

func TestEarlyRefresh(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cfg := DefaultConfig(f.prefix)
	// A huge Beta makes any load look slow enough to refresh now, when the
	// random draw allows it: -ln(1) = 0 never refreshes, -ln(0.5) > 0 does.
	cfg.Beta = 1e12
	c := NewCache(f.rdb, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), f.store.Product)
	c.rand = func() float64 { return 1 }
	for range 2 {
		if _, err := c.Get(t.Context(), "1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.store.Queries.Load(); n != 1 {
		t.Fatalf("rand=1: %d queries, want 1 (no refresh)", n)
	}
	c.rand = func() float64 { return 0.5 }
	if _, err := c.Get(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	if n, r := f.store.Queries.Load(), c.Stats.EarlyRefreshes.Load(); n != 2 || r != 1 {
		t.Errorf("rand=0.5: %d queries, %d early refreshes; want 2 and 1", n, r)
	}
	// A refresh that fails serves the entry, which has not expired.
	fail := NewCache(f.rdb, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(context.Context, string) (Product, error) { return Product{}, errors.New("database down") })
	fail.rand = c.rand
	if p, err := fail.Get(t.Context(), "1"); err != nil || p.Name != "Lamp" {
		t.Errorf("failed refresh: %+v, %v; want the cached Lamp", p, err)
	}
}

func TestWriteThenInvalidate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.cache(f.rdb)
	if _, err := c.Get(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetPrice(t.Context(), "1", 2499); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.Get(t.Context(), "1"); p.PriceCents != 1999 {
		t.Fatalf("before Invalidate: %d cents, want the cached 1999", p.PriceCents)
	}
	if err := c.Invalidate(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	if p, err := c.Get(t.Context(), "1"); err != nil || p.PriceCents != 2499 {
		t.Errorf("after Invalidate: %+v, %v; want 2499", p, err)
	}
	if err := f.store.SetPrice(t.Context(), "missing", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPrice of a missing row: %v, want ErrNotFound", err)
	}
}

// TestVersionedPrefix: a deploy that changes the encoding bumps v1 → v2 and
// never reads the old entries, which expire on their own.
func TestVersionedPrefix(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.cache(f.rdb).Get(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	f2 := f
	f2.prefix = strings.Replace(f.prefix, ":v1:", ":v2:", 1)
	if _, err := f2.cache(f.rdb).Get(t.Context(), "1"); err != nil {
		t.Fatal(err)
	}
	if n := f.store.Queries.Load(); n != 2 {
		t.Errorf("v1 then v2: %d queries, want 2", n)
	}
	if f.logs.Len() != 0 {
		t.Errorf("v2 read a v1 entry: %s", f.logs.String())
	}
}

func TestUndecodableValueIsAMissLoggedOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := f.cache(f.rdb)
	const junk = `{"card":"4111-1111-1111-1111"` // not even JSON
	key := f.prefix + "1"
	if err := f.rdb.Set(t.Context(), key, junk, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if p, err := c.Get(t.Context(), "1"); err != nil || p.Name != "Lamp" {
			t.Fatalf("get %d: %+v, %v", i, p, err)
		}
	}
	logs := f.logs.String()
	if n := strings.Count(logs, "msg="); n != 1 || !strings.Contains(logs, "key="+key) {
		t.Errorf("want one line naming %s, got %d:\n%q", key, n, logs)
	}
	if strings.Contains(logs, "4111") {
		t.Errorf("the value reached the log:\n%s", logs)
	}
	if v := f.rdb.Get(t.Context(), key).Val(); v == junk {
		t.Error("the bad value was not overwritten")
	}
	if n := f.store.Queries.Load(); n != 1 {
		t.Errorf("%d queries, want 1", n)
	}
}

// TestRedisFaults: with Redis cut off or slow, Get still answers from
// PostgreSQL within the caller's deadline; once Redis is back the cache
// fills again, with the same client.
func TestRedisFaults(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		inject func(t *testing.T, p *faultproxy.Proxy) (heal func())
	}{
		{"down", func(t *testing.T, p *faultproxy.Proxy) func() {
			p.Cut()
			return func() { p.Restore(t) }
		}},
		{"slow", func(t *testing.T, p *faultproxy.Proxy) func() {
			return p.Latency(t, 3*time.Second, 0)
		}},
		{"hanging", func(t *testing.T, p *faultproxy.Proxy) func() { return p.Blackhole(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			proxy := faultproxy.New(t, f.rdb.Options().Addr)
			rdb := NewRedis(proxy.Addr())
			t.Cleanup(func() { _ = rdb.Close() })
			c := f.cache(rdb)
			heal := tt.inject(t, proxy)

			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			for _, id := range []string{"1", "1"} {
				if p, err := c.Get(ctx, id); err != nil || p.Name != "Lamp" {
					t.Fatalf("redis %s: %+v, %v; want Lamp from PostgreSQL", tt.name, p, err)
				}
			}
			if c.Stats.RedisErrors.Load() == 0 {
				t.Error("no Redis error counted: the fault did not apply")
			}
			if n := f.rdb.Exists(t.Context(), f.prefix+"1").Val(); n != 0 {
				t.Fatal("the entry reached Redis through the fault")
			}

			heal()
			testkit.Eventually(t, 5*time.Second, func() error {
				if _, err := c.Get(t.Context(), "1"); err != nil {
					return err
				}
				if f.rdb.Exists(t.Context(), f.prefix+"1").Val() != 1 {
					return fmt.Errorf("redis %s healed: entry not cached yet", tt.name)
				}
				return nil
			})
			before := f.store.Queries.Load()
			if _, err := c.Get(t.Context(), "1"); err != nil || f.store.Queries.Load() != before {
				t.Errorf("after healing: err=%v, queries +%d; want a hit", err, f.store.Queries.Load()-before)
			}
		})
	}
}

// TestPasswordStaysOutOfErrors: a wrong password and a malformed URL fail
// the run, and no error or output carries the password.
func TestPasswordStaysOutOfErrors(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.Postgres)
	const secret = "s3cr3t-Pa55word-never-print"
	u, err := url.Parse(testkit.Endpoint(testkit.Postgres))
	if err != nil {
		t.Fatal("DATABASE_URL is not a URL")
	}
	u.User = url.UserPassword(u.User.Username(), secret)
	for name, dsn := range map[string]string{
		"wrong_password": u.String(),
		"malformed_url":  "postgres://app:" + secret + "@localhost:bad-port/app",
	} {
		var out bytes.Buffer
		err := run(t.Context(), testkit.Getenv(t, map[string]string{"DATABASE_URL": dsn}), &out)
		if err == nil {
			t.Fatalf("%s: run succeeded", name)
		}
		testkit.NoSecret(t, err, secret) // every error of the chain, every format
		if strings.Contains(out.String(), secret) {
			t.Errorf("%s: the password leaked into the output: %s", name, out.String())
		}
	}
}

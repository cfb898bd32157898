package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
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

type fixture struct {
	pool  *pgxpool.Pool
	store *Store
	addr  string
	cfg   Config
}

func setup(t testing.TB, l1TTL time.Duration) fixture {
	t.Helper()
	dsn := testkit.Require(t, testkit.Postgres)
	addr := testkit.Require(t, testkit.Redis)
	pool, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatal("connect")
	}
	t.Cleanup(pool.Close)
	name := testkit.Name(t)
	store, err := NewStore(t.Context(), pool, name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig(name + ":")
	cfg.L1TTL = l1TTL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = store.Drop(ctx)
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		iter := rdb.Scan(ctx, 0, cfg.Prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			_ = rdb.Del(ctx, iter.Val()).Err()
		}
		_ = rdb.Close()
	})
	if err := store.Save(t.Context(), "k", "v1"); err != nil {
		t.Fatal(err)
	}
	return fixture{pool: pool, store: store, addr: addr, cfg: cfg}
}

// tier starts an instance whose Redis traffic goes to addr.
func (f fixture) tier(t testing.TB, addr string) *Tier {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond})
	tier, err := NewTier(t.Context(), rdb, f.store, f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tier.Close()
		_ = rdb.Close()
	})
	return tier
}

// cached reads key until tier serves it from L1.
func cached(t testing.TB, tier *Tier, key, want string) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, func() error {
		v, src, err := tier.Get(t.Context(), key)
		tier.Settle()
		if err != nil || v != want || src != FromL1 {
			return fmt.Errorf("get %s = %q from %s (%w), want %q from L1", key, v, src, err, want)
		}
		return nil
	})
}

func fresh(t *testing.T, tier *Tier, key, want string, within time.Duration) {
	t.Helper()
	testkit.Eventually(t, within, func() error {
		if v, _, err := tier.Get(t.Context(), key); err != nil || v != want {
			return fmt.Errorf("get %s = %q (%w), want %q", key, v, err, want)
		}
		return nil
	})
}

// TestInvalidationReachesOtherInstance: after A's write and delivery of
// the message, B never returns the old value again. L1 lives a minute
// here, so only the invalidation can make B fresh within the wait.
func TestInvalidationReachesOtherInstance(t *testing.T) {
	t.Parallel()
	f := setup(t, time.Minute)
	a, b := f.tier(t, f.addr), f.tier(t, f.addr)
	cached(t, a, "k", "v1")
	cached(t, b, "k", "v1")
	if err := a.WriteThrough(t.Context(), "k", "v2"); err != nil {
		t.Fatal(err)
	}
	fresh(t, b, "k", "v2", 2*time.Second)
	for i := range 50 {
		if v, _, _ := b.Get(t.Context(), "k"); v != "v2" {
			t.Fatalf("get %d after the invalidation: %q", i, v)
		}
	}
	if v, _ := f.store.Load(t.Context(), "k"); v != "v2" {
		t.Errorf("PostgreSQL has %q, want v2", v)
	}
}

// TestLostInvalidationIsBoundedByL1TTL: B's connection stops delivering
// anything (no error, as behind a stuck middlebox), so B misses the
// message and serves the old value — until its L1 entry expires.
func TestLostInvalidationIsBoundedByL1TTL(t *testing.T) {
	t.Parallel()
	f := setup(t, 2*time.Second)
	proxy := faultproxy.New(t, f.addr)
	a, b := f.tier(t, f.addr), f.tier(t, proxy.Addr())
	cached(t, b, "k", "v1")
	proxy.AddToxic(t, "stuck", "timeout", "downstream", `{"timeout": 0}`)
	if err := a.WriteThrough(t.Context(), "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if v, src, _ := b.Get(t.Context(), "k"); v != "v1" || src != FromL1 {
		t.Fatalf("B right after the lost message: %q from %s, want the stale v1 from L1", v, src)
	}
	fresh(t, b, "k", "v2", 2*f.cfg.L1TTL+3*time.Second)
}

// failPublish makes a client's PUBLISH fail before it is sent, alone or
// in a pipeline: the write is committed, the message never goes out.
type failPublish struct{}

func (failPublish) DialHook(next redis.DialHook) redis.DialHook { return next }

func (failPublish) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "publish" {
			return errors.New("publish refused")
		}
		return next(ctx, cmd)
	}
}

func (failPublish) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if cmd.Name() == "publish" {
				return errors.New("publish refused")
			}
		}
		return next(ctx, cmds)
	}
}

// TestFailedPublishLeavesOnlyL1Stale: A commits v2 but its PUBLISH fails.
// B's L1 copy stays stale until L1TTL; Redis L2 already holds v2, so an
// instance without an L1 copy reads v2 at once, not the old value for L2TTL.
func TestFailedPublishLeavesOnlyL1Stale(t *testing.T) {
	t.Parallel()
	f := setup(t, 2*time.Second)
	a, b := f.tier(t, f.addr), f.tier(t, f.addr)
	cached(t, b, "k", "v1") // L2 holds v1 as well
	a.rdb.AddHook(failPublish{})
	if err := a.WriteThrough(t.Context(), "k", "v2"); err == nil {
		t.Fatal("WriteThrough with a failed PUBLISH returned nil")
	}
	if v, _ := f.store.Load(t.Context(), "k"); v != "v2" {
		t.Fatalf("PostgreSQL has %q, want the committed v2", v)
	}
	c := f.tier(t, f.addr)
	if v, src, err := c.Get(t.Context(), "k"); err != nil || v != "v2" {
		t.Errorf("a fresh instance reads %q from %s (%v), want v2: L2 kept the old value", v, src, err)
	}
	fresh(t, b, "k", "v2", 2*f.cfg.L1TTL+3*time.Second)
}

// TestConnectionLossVoidsL1: when B's subscription breaks, B stops
// trusting L1 (it may have missed messages) and, once resubscribed, gets
// invalidations again.
func TestConnectionLossVoidsL1(t *testing.T) {
	t.Parallel()
	f := setup(t, time.Minute)
	proxy := faultproxy.New(t, f.addr)
	a, b := f.tier(t, f.addr), f.tier(t, proxy.Addr())
	cached(t, b, "k", "v1")
	proxy.Cut()
	testkit.Eventually(t, 5*time.Second, func() error {
		if b.synced.Load() {
			return errors.New("B has not noticed the broken subscription")
		}
		return nil
	})
	if err := a.WriteThrough(t.Context(), "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if v, src, err := b.Get(t.Context(), "k"); v != "v2" || src != FromDB {
		t.Fatalf("B during the outage: %q from %s (%v), want v2 from PostgreSQL", v, src, err)
	}
	proxy.Restore(t)
	testkit.Eventually(t, 5*time.Second, func() error {
		if !b.synced.Load() {
			return errors.New("B has not resubscribed")
		}
		return nil
	})
	cached(t, b, "k", "v2")
	if err := a.WriteThrough(t.Context(), "k", "v3"); err != nil {
		t.Fatal(err)
	}
	fresh(t, b, "k", "v3", 2*time.Second)
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

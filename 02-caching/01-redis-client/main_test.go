package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

// client returns a client of the example's configuration and the test's
// own key prefix.
func client(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := NewClient(testkit.Require(t, testkit.Redis), true)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, testkit.Name(t) + ":"
}

func TestRun(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	getenv := testkit.Getenv(t, map[string]string{"KEY_PREFIX": prefix})
	// Twice: a rerun starts from the same state.
	for i := range 2 {
		var out bytes.Buffer
		if err := run(t.Context(), getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		testkit.CheckReadme(t, 0, out.String())
	}
	// The effects, not only the lines.
	for key, want := range map[string]string{"balance": "80", "cas": "v2", "visits": "2", "user:42": "Ada"} {
		if got, err := rdb.Get(t.Context(), prefix+key).Result(); err != nil || got != want {
			t.Errorf("GET %s = %q, %v; want %q", key, got, err, want)
		}
	}
	if ttl := rdb.TTL(t.Context(), prefix+"visits").Val(); ttl <= 0 {
		t.Errorf("visits TTL = %v: EXPIRE inside MULTI/EXEC did not apply", ttl)
	}
	t.Cleanup(func() { cleanup(rdb, prefix+"*") })
}

func cleanup(rdb *redis.Client, pattern string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys, _ := rdb.Keys(ctx, pattern).Result()
	if len(keys) > 0 {
		_ = rdb.Del(ctx, keys...).Err()
	}
}

func TestWithdraw(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	ctx := t.Context()
	deposit := func(k string, every bool) func(int) error {
		return func(attempt int) error {
			if attempt > 1 && !every {
				return nil
			}
			return rdb.IncrBy(ctx, k, 10).Err()
		}
	}
	tests := []struct {
		name         string
		start        int64
		interfere    func(k string) func(int) error
		wantAttempts int
		wantErr      error
		wantBalance  int64
	}{
		{"no_conflict_one_attempt", 100, func(string) func(int) error { return nil }, 1, nil, 70},
		{"conflict_is_retried_and_keeps_the_deposit", 100,
			func(k string) func(int) error { return deposit(k, false) }, 2, nil, 80},
		{"gives_up_after_max_tries_without_writing", 100,
			func(k string) func(int) error { return deposit(k, true) }, 3, redis.TxFailedErr, 130},
		{"insufficient_balance_changes_nothing", 20,
			func(string) func(int) error { return nil }, 1, ErrInsufficient, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := prefix + tt.name
			t.Cleanup(func() { cleanup(rdb, k) })
			if err := rdb.Set(ctx, k, tt.start, 0).Err(); err != nil {
				t.Fatal(err)
			}
			attempts, err := Withdraw(ctx, rdb, k, 30, 3, tt.interfere(k))
			if attempts != tt.wantAttempts || !errors.Is(err, tt.wantErr) {
				t.Errorf("attempts=%d err=%v, want %d, %v", attempts, err, tt.wantAttempts, tt.wantErr)
			}
			if got, _ := rdb.Get(ctx, k).Int64(); got != tt.wantBalance {
				t.Errorf("balance = %d, want %d", got, tt.wantBalance)
			}
		})
	}
}

// commandLog is a go-redis hook that records the names of the commands a
// client sends.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.mu.Lock()
		l.names = append(l.names, cmd.Name())
		l.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (l *commandLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.Join(l.names, ",")
	l.names = nil
	return s
}

func TestScriptFallsBackToEvalOnce(t *testing.T) {
	t.Parallel()
	rdb, prefix := client(t)
	t.Cleanup(func() { cleanup(rdb, prefix+"*") })
	var log commandLog
	rdb.AddHook(&log)
	// A script body no server has seen: its SHA is unknown, as after a restart.
	script := redis.NewScript(fmt.Sprintf("-- %s\n%s", prefix, casSource))
	k := prefix + "cas"
	rdb.Set(t.Context(), k, "a", time.Minute)
	log.take()
	for i, want := range []struct{ cmds, from, to string }{
		{"evalsha,eval", "a", "b"}, {"evalsha", "b", "c"},
	} {
		ok, err := script.Run(t.Context(), rdb, []string{k}, want.from, want.to).Int()
		if err != nil || ok != 1 {
			t.Fatalf("run %d: %d, %v", i, ok, err)
		}
		if got := log.take(); got != want.cmds {
			t.Errorf("run %d sent %s, want %s", i, got, want.cmds)
		}
	}
	if v := rdb.Get(t.Context(), k).Val(); v != "c" {
		t.Errorf("value = %q, want c", v)
	}
}

func TestContextDeadlineStopsOnlyWhenEnabled(t *testing.T) {
	t.Parallel()
	addr := testkit.Require(t, testkit.Redis)
	key := testkit.Name(t)
	for _, enabled := range []bool{false, true} {
		rdb := NewClient(addr, enabled)
		t.Cleanup(func() { _ = rdb.Close() })
		err := blockingPop(t.Context(), rdb, key, 50*time.Millisecond, time.Second)
		want := map[bool]string{false: "redis.Nil", true: "i/o timeout"}[enabled]
		if got := describe(err); !strings.Contains(got, want) {
			t.Errorf("ContextTimeoutEnabled=%t: %s (%v), want %s", enabled, got, err, want)
		}
	}
}

// TestDefaultRetriesRepeatAWrite shows why NewClient sets MaxRetries to
// -1: with the default (3) a read timeout makes go-redis send the same INCR
// again (up to 3 times), and the server runs every copy.
func TestDefaultRetriesRepeatAWrite(t *testing.T) {
	t.Parallel()
	direct, prefix := client(t)
	t.Cleanup(func() { cleanup(direct, prefix+"*") })
	for _, tt := range []struct {
		name       string
		maxRetries int // 0: keep the example's setting
		applied    func(n int64) bool
	}{
		{"new_client", 0, func(n int64) bool { return n == 1 }},
		{"default_retries", 3, func(n int64) bool { return n > 1 }},
	} {
		proxy := faultproxy.New(t, direct.Options().Addr)
		opt := options(proxy.Addr(), true)
		opt.PoolSize, opt.MinRetryBackoff, opt.MaxRetryBackoff = 4, time.Millisecond, time.Millisecond
		if tt.maxRetries != 0 {
			opt.MaxRetries = tt.maxRetries
		}
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { _ = rdb.Close() })
		// Open four connections before the delay: a retry takes an idle
		// one, since a new one could not finish its handshake either.
		var conns []*redis.Conn
		for range 4 {
			c := rdb.Conn()
			if err := c.Ping(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			_ = c.Close()
		}
		// Requests reach the server at once; replies come after ReadTimeout.
		proxy.Latency(t, 2*opt.ReadTimeout, 0)
		k := prefix + tt.name
		if err := rdb.Incr(t.Context(), k).Err(); err == nil {
			t.Fatalf("%s: INCR succeeded through the reply delay", tt.name)
		}
		// Every copy reached the server before its own reply timed out, so
		// the count is final once Incr has returned.
		if got, err := direct.Get(t.Context(), k).Int64(); err != nil || !tt.applied(got) {
			t.Errorf("%s: one INCR call counted %d (%v)", tt.name, got, err)
		}
	}
}

// TestBlockingCommandsHoldConnections (go-redis #1002): each BLPOP keeps
// its connection for as long as it waits, so a pool of 2 with two waiting
// BLPOPs has nothing left for a GET, which fails after PoolTimeout.
func TestBlockingCommandsHoldConnections(t *testing.T) {
	t.Parallel()
	opt := options(testkit.Require(t, testkit.Redis), true)
	opt.PoolSize, opt.PoolTimeout, opt.MinIdleConns = 2, 100*time.Millisecond, 0
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	key := testkit.Name(t)
	var wg sync.WaitGroup
	defer wg.Wait()
	for range 2 { // each returns after 2 s, when the server's timeout ends it
		wg.Go(func() { _ = rdb.BLPop(t.Context(), 2*time.Second, key).Err() })
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if s := rdb.PoolStats(); s.TotalConns-s.IdleConns < 2 {
			return fmt.Errorf("pool stats %+v: BLPOPs not waiting yet", *s)
		}
		return nil
	})
	if err := rdb.Get(t.Context(), key).Err(); !errors.Is(err, redis.ErrPoolTimeout) {
		t.Errorf("GET with every connection in a BLPOP: %v, want redis.ErrPoolTimeout", err)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
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

func setup(t *testing.T) (*pgxpool.Pool, *Store, *redis.Client, string) {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal("connect")
	}
	t.Cleanup(pool.Close)
	name := testkit.Name(t)
	store, err := NewStore(t.Context(), pool, name)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: testkit.Require(t, testkit.Redis)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = store.Drop(ctx)
		iter := rdb.Scan(ctx, 0, name+":*", 100).Iterator()
		for iter.Next(ctx) {
			_ = rdb.Del(ctx, iter.Val()).Err()
		}
		_ = rdb.Close()
	})
	return pool, store, rdb, name + ":"
}

// TestCloseSavesEveryAcceptedWrite: 50 writes queued while the table is
// locked, visible in Redis at once; Close after the unlock saves all 50.
func TestCloseSavesEveryAcceptedWrite(t *testing.T) {
	t.Parallel()
	pool, store, rdb, prefix := setup(t)
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "LOCK TABLE "+store.table+" IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	w := NewWriteBehind(rdb, store, prefix, 100, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 50 {
		if err := w.Set(t.Context(), "w"+strconv.Itoa(i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := rdb.Get(t.Context(), prefix+"w49").Result(); err != nil || v != "x" {
		t.Errorf("Redis w49 = %q, %v; want x before the database has it", v, err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Count(t.Context()); err != nil || n != 50 {
		t.Errorf("after Close %d of 50 writes saved (%v)", n, err)
	}
	if err := w.Set(t.Context(), "late", "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Set after Close: %v, want ErrClosed", err)
	}
	if n, _ := rdb.Exists(t.Context(), prefix+"late").Result(); n != 0 {
		t.Error("a refused write reached Redis")
	}
}

// TestCloseGivesUpAtItsDeadline: with the table still locked, Close ends
// at its context's deadline, counts the save in flight and the queued ones
// as not saved, and leaves no goroutine behind: nothing is saved later, so
// the caller may close the pool. Not parallel: goleak counts goroutines.
func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	pool, store, rdb, prefix := setup(t)
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(ctx)
	})
	if _, err := tx.Exec(t.Context(), "LOCK TABLE "+store.table+" IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Ping(t.Context()).Err(); err != nil { // its connection predates the check
		t.Fatal(err)
	}
	opts := goleak.IgnoreCurrent()
	w := NewWriteBehind(rdb, store, prefix, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 5 {
		if err := w.Set(t.Context(), "w"+strconv.Itoa(i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = w.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "5 writes not saved") {
		t.Errorf("Close = %v, want a deadline error counting 5 unsaved writes", err)
	}
	if err := goleak.Find(opts); err != nil {
		t.Errorf("a goroutine outlived Close: %v", err)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := store.Count(t.Context()); err != nil || n != 0 {
		t.Errorf("%d writes saved after Close gave up (%v), want 0", n, err)
	}
}

// TestConcurrentSetsOfOneKeyAgree: writers race on the same keys; once
// the queue is saved, Redis holds for each key what PostgreSQL holds.
func TestConcurrentSetsOfOneKeyAgree(t *testing.T) {
	t.Parallel()
	_, store, rdb, prefix := setup(t)
	w := NewWriteBehind(rdb, store, prefix, 10_000, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const keys, writers = 20, 8
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for k := range keys {
				if err := w.Set(t.Context(), "k"+strconv.Itoa(k), "v"+strconv.Itoa(g)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		key := "k" + strconv.Itoa(k)
		cached, err := rdb.Get(t.Context(), prefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		saved, err := store.Load(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if cached != saved {
			t.Errorf("%s: Redis %q, PostgreSQL %q", key, cached, saved)
		}
	}
}

// TestFailedSetDropsTheCachedValue: a SET that fails refuses the write and
// deletes the key, so the old value is not served for the TTL.
func TestFailedSetDropsTheCachedValue(t *testing.T) {
	t.Parallel()
	_, store, rdb, prefix := setup(t)
	w := NewWriteBehind(rdb, store, prefix, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { _ = w.Close(context.Background()) })
	if err := w.Set(t.Context(), "k", "old"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the SET fails; the DEL runs under its own deadline
	if err := w.Set(ctx, "k", "new"); err == nil {
		t.Fatal("Set with a failed SET returned nil")
	}
	if n, err := rdb.Exists(t.Context(), prefix+"k").Result(); err != nil || n != 0 {
		t.Errorf("after a failed SET the key exists=%d (%v); want it deleted", n, err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v, err := store.Load(t.Context(), "k"); err != nil || v != "old" {
		t.Errorf("PostgreSQL k = %q, %v; want old (the failed write was not queued)", v, err)
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

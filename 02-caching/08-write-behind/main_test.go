package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

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
		if keys, _ := rdb.Keys(ctx, name+":*").Result(); len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
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
// at its context's deadline and says how many writes were not saved.
func TestCloseGivesUpAtItsDeadline(t *testing.T) {
	t.Parallel()
	pool, store, rdb, prefix := setup(t)
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(t.Context(), "LOCK TABLE "+store.table+" IN EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	w := NewWriteBehind(rdb, store, prefix, 10, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i := range 5 {
		if err := w.Set(t.Context(), "w"+strconv.Itoa(i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = w.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not saved") {
		t.Errorf("Close = %v, want a deadline error counting unsaved writes", err)
	}
	// Let the saver finish before the table goes.
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		if n, _ := store.Count(t.Context()); n != 5 {
			return fmt.Errorf("%d of 5 saved", n)
		}
		return nil
	})
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
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), out.String()} {
			if strings.Contains(s, secret) {
				t.Errorf("%s: the password leaked: %s", name, s)
			}
		}
	}
}

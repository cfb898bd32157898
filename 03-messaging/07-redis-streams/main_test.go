package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

// client returns a Redis client and a fresh stream name with its group,
// deleted when the test ends.
func client(t *testing.T) (*redis.Client, string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: testkit.Require(t, testkit.Redis)})
	stream := testkit.Name(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rdb.Del(ctx, stream, stream+".dead").Err(); err != nil {
			t.Error(err)
		}
		_ = rdb.Close()
	})
	return rdb, stream
}

func consumer(rdb *redis.Client, stream, name string, out *bytes.Buffer) *Consumer {
	return &Consumer{RDB: rdb, Stream: stream, Group: "workers", Name: name, MaxDeliveries: 3, Out: out}
}

func TestRun(t *testing.T) {
	t.Parallel()
	rdb, stream := client(t)
	getenv := testkit.Getenv(t, map[string]string{"REDIS_ADDR": testkit.Endpoint(testkit.Redis)})
	for i := range 2 { // a rerun starts from an empty stream
		var out bytes.Buffer
		if err := run(t.Context(), []string{"-stream", stream, "-min-idle", "20ms", "-reset"}, getenv, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		got := strings.ReplaceAll(out.String(), stream, "events")
		testkit.CheckReadme(t, 0, strings.ReplaceAll(got, "idle >= 20ms", "idle >= 100ms"))
	}
	if n := rdb.XLen(t.Context(), stream+".dead").Val(); n != 3 {
		t.Errorf("dead stream holds %d entries, want 3", n)
	}
	if p := rdb.XPending(t.Context(), stream, "workers").Val(); p.Count != 0 {
		t.Errorf("%d entries still pending, want 0", p.Count)
	}
	// Without -reset the streams are kept: the dead letters add up.
	if err := run(t.Context(), []string{"-stream", stream, "-min-idle", "20ms"}, getenv, &bytes.Buffer{}); err != nil {
		t.Fatalf("run without -reset: %v", err)
	}
	if n := rdb.XLen(t.Context(), stream+".dead").Val(); n != 6 {
		t.Errorf("dead stream holds %d entries after a run without -reset, want 6", n)
	}
}

func TestBadEntriesAreDeadLetteredWithTheReason(t *testing.T) {
	t.Parallel()
	rdb, stream := client(t)
	ctx := t.Context()
	if err := rdb.XGroupCreateMkStream(ctx, stream, "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		values map[string]any
		reason string
	}{
		{"oversized", map[string]any{"payload": strings.Repeat("x", maxPayload+1)}, "oversized: 65537 bytes exceeds 65536"},
		{"undecodable", map[string]any{"payload": `{"type":`}, "undecodable: unexpected end of JSON input"},
		{"no_payload", map[string]any{"body": "x"}, "undecodable: no payload field"},
		{"unknown_type", map[string]any{"payload": `{"type":"refund"}`}, `unknown type "refund"`},
	}
	for _, c := range cases {
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: c.values}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	c := consumer(rdb, stream, "c1", &out)
	msgs, err := c.ReadNew(ctx, 10)
	if err != nil || len(msgs) != len(cases) {
		t.Fatalf("read %d, err %v", len(msgs), err)
	}
	if err := c.Process(ctx, msgs, 1); err != nil {
		t.Fatal(err)
	}
	dead := rdb.XRange(ctx, stream+".dead", "-", "+").Val()
	if len(dead) != len(cases) {
		t.Fatalf("dead stream holds %d, want %d", len(dead), len(cases))
	}
	for i, c := range cases {
		if dead[i].Values["reason"] != c.reason || dead[i].Values["id"] != msgs[i].ID {
			t.Errorf("%s: dead entry %v, want reason %q and the original id", c.name, dead[i].Values["reason"], c.reason)
		}
	}
	if p := rdb.XPending(ctx, stream, "workers").Val(); p.Count != 0 {
		t.Errorf("%d still pending: a dead-lettered entry must be acked", p.Count)
	}
}

func TestRecoverTakesOverACrashedConsumersEntries(t *testing.T) {
	t.Parallel()
	rdb, stream := client(t)
	ctx := t.Context()
	if err := rdb.XGroupCreateMkStream(ctx, stream, "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		p := fmt.Sprintf(`{"type":"signup","user":"u%d"}`, i)
		if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"payload": p}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if msgs, err := consumer(rdb, stream, "crashed", &out).ReadNew(ctx, 10); err != nil || len(msgs) != 5 {
		t.Fatalf("read %d, err %v", len(msgs), err)
	}
	n, err := consumer(rdb, stream, "rescuer", &out).Recover(ctx, 0)
	if err != nil || n != 5 {
		t.Fatalf("claimed %d, err %v, want 5", n, err)
	}
	if p := rdb.XPending(ctx, stream, "workers").Val(); p.Count != 0 {
		t.Errorf("%d still pending after recovery, want 0\n%s", p.Count, out.String())
	}
}

func TestApproximateMaxLenTrimsUnackedEntries(t *testing.T) {
	t.Parallel()
	rdb, stream := client(t)
	ctx := t.Context()
	if err := rdb.XGroupCreateMkStream(ctx, stream, "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	add := func(maxLen int64) {
		t.Helper()
		err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, MaxLen: maxLen, Approx: maxLen > 0,
			Values: map[string]any{"payload": `{"type":"signup","user":"u"}`}}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 300 {
		add(0)
	}
	var out bytes.Buffer
	if msgs, err := consumer(rdb, stream, "slow", &out).ReadNew(ctx, 300); err != nil || len(msgs) != 300 {
		t.Fatalf("read %d, err %v", len(msgs), err)
	}
	add(10) // trims whole nodes of unacked entries
	if n := rdb.XLen(ctx, stream).Val(); n >= 301 {
		t.Fatalf("XLEN %d: MAXLEN ~ trimmed nothing", n)
	}
	if p := rdb.XPending(ctx, stream, "workers").Val(); p.Count != 300 {
		t.Fatalf("pending %d, want 300: the group still lists trimmed entries", p.Count)
	}
	if _, err := consumer(rdb, stream, "rescuer", &out).Recover(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "lost, trimmed from the stream before XACK") {
		t.Fatalf("recovery did not report the trimmed entries:\n%s", out.String())
	}
}

func TestReadNewReturnsAtOnceWhenNothingIsNew(t *testing.T) {
	t.Parallel()
	rdb, stream := client(t)
	if err := rdb.XGroupCreateMkStream(t.Context(), stream, "workers", "$").Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	msgs, err := consumer(rdb, stream, "c1", &bytes.Buffer{}).ReadNew(ctx, 10)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("got %d, err %v; want none, at once (Block 0 blocks for ever)", len(msgs), err)
	}
}

// TestDeadLetterKeepsTheEntryPendingWhenXAddFails: a dead stream key of the
// wrong type fails the XADD; the entry must not be acked (and so lost).
func TestDeadLetterKeepsTheEntryPendingWhenXAddFails(t *testing.T) {
	t.Parallel()
	rdb, stream := client(t)
	ctx := t.Context()
	if err := rdb.XGroupCreateMkStream(ctx, stream, "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"payload": "x"}}).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "c1", Streams: []string{stream, ">"}, Count: 1}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 1 {
		t.Fatalf("xreadgroup: %v %v", res, err)
	}
	if err := rdb.Set(ctx, stream+".dead", "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c := consumer(rdb, stream, "c1", &bytes.Buffer{})
	if err := c.deadLetter(ctx, res[0].Messages[0], errors.New("bad")); err == nil {
		t.Fatal("deadLetter succeeded with a dead stream of the wrong type")
	}
	if p := rdb.XPending(ctx, stream, "workers").Val(); p.Count != 1 {
		t.Errorf("%d entries pending, want 1: the entry was acked without a dead letter", p.Count)
	}
}

// TestOptionsDoNotRetryAndHonourDeadlines: no re-sent XADD after a timeout,
// and a blocking read stops at the context's deadline.
func TestOptionsDoNotRetryAndHonourDeadlines(t *testing.T) {
	t.Parallel()
	_, stream := client(t)
	rdb := redis.NewClient(options(testkit.Require(t, testkit.Redis)))
	defer rdb.Close()
	if n := rdb.Options().MaxRetries; n != 0 {
		t.Errorf("MaxRetries %d after NewClient, want 0 (no retries)", n)
	}
	if err := rdb.XGroupCreateMkStream(t.Context(), stream, "workers", "$").Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "c1",
		Streams: []string{stream, ">"}, Block: 3 * time.Second}).Err()
	if err == nil || errors.Is(err, redis.Nil) {
		t.Errorf("blocking read under a 100ms deadline: %v, want a timeout before the 3s block ends", err)
	}
}

package contract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/redis/go-redis/v9"
)

// redisBroker: go-redis v9.23.0, one stream per topic and one consumer
// group per group. Nothing redelivers a pending entry by itself: the
// member's Next claims entries idle longer than minIdle first (XAUTOCLAIM),
// as 07-redis-streams does.
type redisBroker struct{ addr string }

func (redisBroker) Name() string { return "Redis Streams (go-redis)" }

const minIdle = 500 * time.Millisecond

func (redisBroker) Guarantees() Guarantees {
	return Guarantees{
		Redelivery: true, RedeliveryVia: "stays pending until a consumer's XAUTOCLAIM",
		KeyOrderInGroup: false, Replay: true, Dedup: false,
		Retention: "until trimmed (MAXLEN / MINID), acked or not",
	}
}

func (b redisBroker) Topic(t *testing.T) Topic {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: b.addr})
	name := testkit.Name(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rdb.Del(ctx, name).Err()
		_ = rdb.Close()
	})
	return &redisTopic{rdb: rdb, stream: name}
}

type redisTopic struct {
	rdb    *redis.Client
	stream string
}

func (r *redisTopic) Publish(ctx context.Context, msgs ...Message) error {
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range msgs {
			p.XAdd(ctx, &redis.XAddArgs{Stream: r.stream, Values: map[string]any{
				"id": m.ID, "key": m.Key, "body": m.Body}})
		}
		return nil
	})
	return err
}

func (r *redisTopic) Subscribe(t *testing.T, group string) Subscriber {
	t.Helper()
	err := r.rdb.XGroupCreateMkStream(t.Context(), r.stream, group, "0").Err()
	if err != nil && !isBusyGroup(err) {
		t.Fatal(err)
	}
	return &redisSub{rdb: r.rdb, stream: r.stream, group: group, name: testkit.Name(t)}
}

func isBusyGroup(err error) bool { return strings.HasPrefix(err.Error(), "BUSYGROUP") }

type redisSub struct {
	rdb                 *redis.Client
	stream, group, name string
}

func (s *redisSub) Next(ctx context.Context) (Delivery, error) {
	for {
		claimed, _, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{Stream: s.stream, Group: s.group,
			Consumer: s.name, MinIdle: minIdle, Start: "0-0", Count: 1}).Result()
		if err != nil {
			return Delivery{}, fmt.Errorf("xautoclaim: %w", err)
		}
		if len(claimed) == 1 {
			return s.delivery(claimed[0]), nil
		}
		res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: s.group, Consumer: s.name,
			Streams: []string{s.stream, ">"}, Count: 1, Block: 100 * time.Millisecond}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			if err := ctx.Err(); err != nil {
				return Delivery{}, err
			}
		case err != nil:
			return Delivery{}, fmt.Errorf("xreadgroup: %w", err)
		default:
			return s.delivery(res[0].Messages[0]), nil
		}
	}
}

func (s *redisSub) delivery(m redis.XMessage) Delivery {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	return Delivery{
		Message: Message{ID: str("id"), Key: str("key"), Body: []byte(str("body"))},
		Ack: func(ctx context.Context) error {
			return s.rdb.XAck(ctx, s.stream, s.group, m.ID).Err()
		},
	}
}

func (s *redisSub) Close() error { return nil } // a crash: entries stay pending

func TestRedisStreams(t *testing.T) {
	t.Parallel()
	Run(t, redisBroker{addr: testkit.Require(t, testkit.Redis)})
}

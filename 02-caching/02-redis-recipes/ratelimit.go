package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// slidingWindow keeps one sorted-set member per allowed request, scored by
// its time in microseconds. In one atomic step it drops members older than
// the window, counts the rest, and records the request if under the limit.
// A denied request is not recorded: a client that keeps trying is not
// locked out longer. Returns {allowed, remaining, retry-after µs}.
const slidingWindow = `
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, limit - n - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}`

// Limiter allows Limit requests per key in any Window-long interval.
type Limiter struct {
	rdb    *redis.Client
	script *redis.Script
	limit  int
	window time.Duration
}

// Decision is the outcome of one Allow.
type Decision struct {
	Allowed    bool
	Remaining  int
	RetryAfter time.Duration
}

// NewLimiter checks its arguments: a zero limit or window would deny or
// allow everything silently.
func NewLimiter(rdb *redis.Client, limit int, window time.Duration) (*Limiter, error) {
	if limit <= 0 || window < time.Millisecond {
		return nil, fmt.Errorf("rate limit %d per %s: want limit > 0 and window >= 1ms", limit, window)
	}
	return &Limiter{rdb: rdb, script: redis.NewScript(slidingWindow), limit: limit, window: window}, nil
}

// Allow decides one request for key at time now (time.Now() in a service;
// the instances' clocks must agree, as with any client-side timestamp).
func (l *Limiter) Allow(ctx context.Context, key string, now time.Time) (Decision, error) {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	member := fmt.Sprintf("%d-%s", now.UnixMicro(), hex.EncodeToString(id))
	res, err := l.script.Run(ctx, l.rdb, []string{key},
		now.UnixMicro(), l.window.Microseconds(), l.limit, member).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if len(res) != 3 {
		return Decision{}, errors.New("rate limit: unexpected script reply")
	}
	return Decision{Allowed: res[0] == 1, Remaining: int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond}, nil
}

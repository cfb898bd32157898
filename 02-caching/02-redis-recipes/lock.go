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

var (
	// ErrLocked: another owner holds the lock.
	ErrLocked = errors.New("lock held by another owner")
	// ErrNotHeld: the lock expired, or another owner has it now.
	ErrNotHeld = errors.New("lock not held")
)

// acquire sets the lock only if it is free (SET NX PX) and takes the next
// fencing token from a counter, in one atomic step.
const acquire = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`

// release deletes the lock only if it still holds our token: a plain DEL
// after our TTL ran out would delete the next owner's lock.
const release = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

// Lock is one owner's hold on a key. Fence grows with every acquisition of
// the key; the resource the lock protects must refuse a smaller one.
type Lock struct {
	rdb   *redis.Client
	key   string
	token string
	Fence int64
}

// Acquire takes the lock for ttl or returns ErrLocked.
func Acquire(ctx context.Context, rdb *redis.Client, key string, ttl time.Duration) (*Lock, error) {
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("lock %s: ttl %s below 1ms", key, ttl)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	fence, err := redis.NewScript(acquire).Run(ctx, rdb, []string{key, key + ":fence"},
		token, ttl.Milliseconds()).Int64()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if fence == 0 {
		return nil, fmt.Errorf("lock %s: %w", key, ErrLocked)
	}
	return &Lock{rdb: rdb, key: key, token: token, Fence: fence}, nil
}

// Release frees the lock if this owner still holds it.
func (l *Lock) Release(ctx context.Context) error {
	n, err := redis.NewScript(release).Run(ctx, l.rdb, []string{l.key}, l.token).Int()
	if err != nil {
		return fmt.Errorf("unlock %s: %w", l.key, err)
	}
	if n == 0 {
		return fmt.Errorf("unlock %s: %w", l.key, ErrNotHeld)
	}
	return nil
}

// fencedWrite is the protected resource's side: store value only if fence
// is newer than the last one it accepted.
const fencedWrite = `
local last = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if tonumber(ARGV[1]) <= last then return last end
redis.call('HSET', KEYS[1], 'fence', ARGV[1], 'value', ARGV[2])
return 0`

// ErrStaleFence: a write carried an older fencing token than one already
// accepted — its lock had expired and another owner wrote since.
var ErrStaleFence = errors.New("stale fencing token")

// WriteFenced writes value to the hash at key on behalf of the lock owner
// with fence.
func WriteFenced(ctx context.Context, rdb *redis.Client, key string, fence int64, value string) error {
	last, err := redis.NewScript(fencedWrite).Run(ctx, rdb, []string{key}, fence, value).Int64()
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if last != 0 {
		return fmt.Errorf("write %s with fence %d after %d: %w", key, fence, last, ErrStaleFence)
	}
	return nil
}

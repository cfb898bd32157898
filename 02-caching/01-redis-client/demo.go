package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/redis/go-redis/v9"
)

// demo runs each lesson against one client, with every key under prefix so
// that tests and reruns do not collide.
type demo struct {
	rdb    *redis.Client
	cas    *redis.Script
	prefix string
	out    io.Writer
}

func (d demo) key(name string) string { return d.prefix + name }

func (d demo) keys() []string {
	var ks []string
	for _, n := range []string{"user:42", "page:1", "page:missing", "visits", "balance", "cas"} {
		ks = append(ks, d.key(n))
	}
	return ks
}

// getSet: a missing key is redis.Nil — an answer, not a failure. Code that
// treats every error as "Redis is down" turns each miss into an outage.
func (d demo) getSet(ctx context.Context) error {
	k := d.key("user:42")
	if err := d.rdb.Get(ctx, k).Err(); !errors.Is(err, redis.Nil) {
		return fmt.Errorf("get %s: want redis.Nil, got %w", k, err)
	}
	fmt.Fprintln(d.out, "get user:42: miss (redis.Nil)")
	if err := d.rdb.Set(ctx, k, "Ada", time.Minute).Err(); err != nil {
		return fmt.Errorf("set %s: %w", k, err)
	}
	v, err := d.rdb.Get(ctx, k).Result()
	if err != nil {
		return fmt.Errorf("get %s: %w", k, err)
	}
	ttl, err := d.rdb.TTL(ctx, k).Result()
	if err != nil {
		return fmt.Errorf("ttl %s: %w", k, err)
	}
	fmt.Fprintf(d.out, "set user:42 with a 1m TTL; get: %q (ttl set: %t)\n", v, ttl > 0)
	return nil
}

// pipeline sends three commands in one round trip. Exec returns the first
// failed command's error — redis.Nil included (go-redis #1668) — so look at
// each command, not at Exec's error alone.
func (d demo) pipeline(ctx context.Context) error {
	pipe := d.rdb.Pipeline()
	set := pipe.Set(ctx, d.key("page:1"), "<html>", time.Minute)
	get := pipe.Get(ctx, d.key("page:missing"))
	incr := pipe.Incr(ctx, d.key("visits"))
	_, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("exec: %w", err)
	}
	if set.Err() != nil || incr.Err() != nil {
		return fmt.Errorf("exec: %w", errors.Join(set.Err(), incr.Err()))
	}
	fmt.Fprintf(d.out, "pipeline: Exec error %q; set=%s get=%s incr=%d\n",
		err, set.Val(), missOr(get), incr.Val())
	return nil
}

func missOr(cmd *redis.StringCmd) string {
	if errors.Is(cmd.Err(), redis.Nil) {
		return "miss"
	}
	return fmt.Sprintf("%q", cmd.Val())
}

// txPipeline wraps the commands in MULTI/EXEC: no other client's command
// runs between them. It is not a rollback: a command that fails inside
// EXEC does not undo the others.
func (d demo) txPipeline(ctx context.Context) error {
	var incr *redis.IntCmd
	var expire *redis.BoolCmd
	_, err := d.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, d.key("visits"))
		expire = p.Expire(ctx, d.key("visits"), time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	fmt.Fprintf(d.out, "tx pipeline: MULTI incr=%d expire=%t EXEC\n", incr.Val(), expire.Val())
	return nil
}

// watch withdraws 30 from a balance of 100 with optimistic locking. Another
// client deposits 10 between our read and our EXEC (the in-process fault),
// so EXEC aborts with redis.TxFailedErr and the retry sees 110.
func (d demo) watch(ctx context.Context) error {
	k := d.key("balance")
	if err := d.rdb.Set(ctx, k, 100, 0).Err(); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	interfere := func(attempt int) error {
		if attempt > 1 {
			return nil
		}
		return d.rdb.IncrBy(ctx, k, 10).Err()
	}
	attempts, err := Withdraw(ctx, d.rdb, k, 30, 3, interfere)
	if err != nil {
		return err
	}
	bal, err := d.rdb.Get(ctx, k).Int64()
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	fmt.Fprintf(d.out, "watch: withdraw 30 from 100 during a deposit of 10: attempts=%d balance=%d\n",
		attempts, bal)
	return nil
}

// ErrInsufficient is returned by Withdraw when the balance is too low.
var ErrInsufficient = errors.New("insufficient balance")

// Withdraw subtracts amount from the integer at key unless that would go
// below zero. WATCH makes EXEC fail if the key changed after our GET; we
// then read again, up to maxTries times. beforeExec (nil in production)
// lets the demo and tests change the key at the worst moment.
func Withdraw(ctx context.Context, rdb *redis.Client, key string, amount int64, maxTries int,
	beforeExec func(attempt int) error) (attempts int, err error) {
	for attempts = 1; attempts <= maxTries; attempts++ {
		err = rdb.Watch(ctx, func(tx *redis.Tx) error {
			bal, err := tx.Get(ctx, key).Int64()
			if err != nil {
				return fmt.Errorf("get: %w", err)
			}
			if bal < amount {
				return ErrInsufficient
			}
			if beforeExec != nil {
				if err := beforeExec(attempts); err != nil {
					return err
				}
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.DecrBy(ctx, key, amount)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return attempts, err
		}
	}
	return maxTries, fmt.Errorf("withdraw: %d conflicts: %w", maxTries, err)
}

// casScript sets KEYS[1] to ARGV[2] only if it holds ARGV[1], atomically.
// redis.NewScript sends EVALSHA and falls back to EVAL (which loads the
// script) when the server answers NOSCRIPT, e.g. after a restart.
const casSource = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`

func casScript() *redis.Script { return redis.NewScript(casSource) }

func (d demo) lua(ctx context.Context) error {
	k := d.key("cas")
	if err := d.rdb.Set(ctx, k, "v1", time.Minute).Err(); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	first, err := d.cas.Run(ctx, d.rdb, []string{k}, "v1", "v2").Int()
	if err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	second, err := d.cas.Run(ctx, d.rdb, []string{k}, "v1", "v3").Int()
	if err != nil {
		return fmt.Errorf("cas: %w", err)
	}
	v, err := d.rdb.Get(ctx, k).Result()
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	fmt.Fprintf(d.out, "lua: cas v1→v2 = %d, cas v1→v3 = %d, value %q\n", first, second, v)
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// item is the one resource of the service.
type item struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

var errNotFound = errors.New("not found")

// deps holds the service's connections. Neither pgxpool nor go-redis dials
// at construction, so the process starts and serves /livez while the
// database is still down; /readyz tells the load balancer when it is not.
type deps struct {
	pool   *pgxpool.Pool
	redis  *redis.Client
	ttl    time.Duration
	tel    *telemetry
	schema atomic.Bool // the table exists
}

func newDeps(cfg *config, tel *telemetry) (*deps, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL.String())
	if err != nil {
		// pgx masks the password in its message; the error value itself
		// keeps the raw string, so only the message travels on.
		return nil, fmt.Errorf("DATABASE_URL: %s", err.Error())
	}
	// The pool settings of 01-postgresql/04-pooling: a few connections per
	// replica of the Deployment (2 replicas × 4 at most, 10 with the HPA
	// at its maximum of 10 pods: 40, under max_connections), recycled so a
	// failover is picked up.
	pc.MaxConns = 4
	pc.MinConns = 0 // no background dial storm while the database is down
	pc.MaxConnLifetime = 30 * time.Minute
	pc.MaxConnLifetimeJitter = 5 * time.Minute
	pc.MaxConnIdleTime = 5 * time.Minute
	pc.HealthCheckPeriod = 30 * time.Second
	pc.ConnConfig.ConnectTimeout = 2 * time.Second
	pc.ConnConfig.RuntimeParams["application_name"] = cfg.ServiceName
	pc.ConnConfig.RuntimeParams["statement_timeout"] = "2000"
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, DialTimeout: 2 * time.Second})
	return &deps{pool: pool, redis: rdb, ttl: cfg.CacheTTL, tel: tel}, nil
}

func (d *deps) close() {
	d.pool.Close()
	_ = d.redis.Close()
}

// ready checks PostgreSQL, the one dependency the service cannot serve
// without; on the first success it creates the table, so an instance that
// started before its database needs no restart.
func (d *deps) ready(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !d.schema.Load() {
		const ddl = `CREATE TABLE IF NOT EXISTS items (id text PRIMARY KEY, name text NOT NULL)`
		if _, err := d.pool.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("postgres: create table: %w", err)
		}
		d.schema.Store(true)
	}
	return nil
}

func cacheKey(id string) string { return "app:item:" + id }

// get is cache-aside: Redis first, PostgreSQL on a miss, then fill the
// cache with a TTL. A Redis failure degrades to the database, never to an
// error for the client.
func (d *deps) get(ctx context.Context, id string) (item, bool, error) {
	var it item
	if b, err := d.redis.Get(ctx, cacheKey(id)).Bytes(); err == nil && json.Unmarshal(b, &it) == nil {
		d.tel.cache.WithLabelValues("hit").Inc()
		return it, true, nil
	}
	d.tel.cache.WithLabelValues("miss").Inc()
	err := d.pool.QueryRow(ctx, "SELECT id, name FROM items WHERE id = $1", id).Scan(&it.ID, &it.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return item{}, false, errNotFound
	}
	if err != nil {
		return item{}, false, fmt.Errorf("select item: %w", err)
	}
	if b, err := json.Marshal(it); err == nil {
		_ = d.redis.Set(ctx, cacheKey(id), b, d.ttl).Err()
	}
	return it, false, nil
}

// put writes the row, then deletes the cache entry: the next read refills
// it from the database.
func (d *deps) put(ctx context.Context, it item) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO items (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, it.ID, it.Name)
	if err != nil {
		return fmt.Errorf("upsert item: %w", err)
	}
	if err := d.redis.Del(ctx, cacheKey(it.ID)).Err(); err != nil {
		return fmt.Errorf("invalidate cache: %w", err)
	}
	return nil
}

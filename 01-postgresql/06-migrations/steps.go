package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// connect opens the migration connection. lock_timeout as a startup
// parameter survives tern's RESET ALL between migrations: a DDL that would
// queue behind a long transaction — and block every query queued behind it
// — gives up instead.
func connect(ctx context.Context, dsn string, lockTimeout time.Duration) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, parseError("DATABASE_URL", err)
	}
	cfg.RuntimeParams["lock_timeout"] = fmt.Sprint(lockTimeout.Milliseconds())
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// seed stands for the rows the old application wrote before the change.
func seed(ctx context.Context, conn *pgx.Conn, stdout io.Writer) error {
	tag, err := conn.Exec(ctx, `INSERT INTO profiles (name)
		SELECT 'user ' || i FROM generate_series(1, 1000) AS i
		WHERE NOT EXISTS (SELECT FROM profiles)`)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(stdout, "seed: %d profiles written by the old version\n", tag.RowsAffected())
	return nil
}

// backfill copies name into display_name in small batches, each its own
// short transaction: row locks are held for one batch only, and SKIP LOCKED
// steps around rows the application is writing right now. A batch that
// finds nothing unlocked does not mean the work is done: it loops until
// no NULL is left, pausing between batches so replicas and the
// application's own writes keep up. VALIDATE (004) would fail otherwise.
func backfill(ctx context.Context, conn *pgx.Conn, batch int, pause time.Duration) (rows int64, batches int, err error) {
	for {
		tag, err := conn.Exec(ctx, `WITH b AS (
				SELECT id FROM profiles WHERE display_name IS NULL
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
			UPDATE profiles p SET display_name = p.name FROM b WHERE p.id = b.id`, batch)
		if err != nil {
			return rows, batches, fmt.Errorf("backfill: %w", err)
		}
		if n := tag.RowsAffected(); n > 0 {
			rows += n
			batches++
		} else {
			var left bool
			if err := conn.QueryRow(ctx,
				"SELECT EXISTS (SELECT FROM profiles WHERE display_name IS NULL)").Scan(&left); err != nil {
				return rows, batches, fmt.Errorf("backfill: %w", err)
			}
			if !left {
				return rows, batches, nil
			}
			// Every row left is locked by a writer: wait for it.
		}
		select {
		case <-ctx.Done():
			return rows, batches, fmt.Errorf("backfill: %w", ctx.Err())
		case <-time.After(pause):
		}
	}
}

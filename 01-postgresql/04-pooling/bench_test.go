package main

import (
	"context"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const benchQuery = "SELECT n, md5(n::text) FROM generate_series(1, $1::int) n"

// querySome runs benchQuery on q and reads every row.
func querySome(b *testing.B, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) {
	rows, err := q.Query(b.Context(), benchQuery, 10)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 10 {
		b.Fatalf("%d rows, err %v", n, err)
	}
}

func benchPool(b *testing.B, dsn string, mode pgx.QueryExecMode) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.DefaultQueryExecMode = mode
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// BenchmarkQueryPath is the cost a pool removes: the same query through a
// warm pgxpool, through PgBouncer (transaction mode), and on a new
// connection per query (TCP, TLS and SCRAM every time).
func BenchmarkQueryPath(b *testing.B) {
	direct := testkit.Require(b, testkit.Postgres)
	bouncer := testkit.Require(b, testkit.PgBouncer)
	b.Run("pgxpool_direct", func(b *testing.B) {
		pool := benchPool(b, direct, pgx.QueryExecModeCacheStatement)
		for b.Loop() {
			querySome(b, pool)
		}
	})
	b.Run("pgxpool_via_pgbouncer", func(b *testing.B) {
		pool := benchPool(b, bouncer, pgx.QueryExecModeCacheDescribe)
		for b.Loop() {
			querySome(b, pool)
		}
	})
	b.Run("new_connection_per_query", func(b *testing.B) {
		cfg, err := pgx.ParseConfig(direct)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			conn, err := pgx.ConnectConfig(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			querySome(b, conn)
			if err := conn.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkExecMode runs one repeated query in each pgx query mode on a
// direct connection: CacheStatement prepares once and then only binds;
// the others pay for a describe or send the text every time.
func BenchmarkExecMode(b *testing.B) {
	direct := testkit.Require(b, testkit.Postgres)
	for _, mode := range []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement,
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	} {
		b.Run(strings.ReplaceAll(mode.String(), " ", "_"), func(b *testing.B) {
			pool := benchPool(b, direct, mode)
			for b.Loop() {
				querySome(b, pool)
			}
		})
	}
}

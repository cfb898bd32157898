package main

import (
	"context"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkHappyPath: the same query with and without the retry/breaker
// guard, when nothing fails. The guard must cost a few percent at most.
func BenchmarkHappyPath(b *testing.B) {
	pool, err := pgxpool.New(b.Context(), testkit.Require(b, testkit.Postgres))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if err := pool.Ping(b.Context()); err != nil { // open the connection before timing
		b.Fatal(err)
	}
	query := func(ctx context.Context) error {
		var n int
		return pool.QueryRow(ctx, "SELECT $1::int", 1).Scan(&n)
	}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			if err := query(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("guarded", func(b *testing.B) {
		g := NewGuard(defaultPolicy())
		for b.Loop() {
			if _, err := g.Do(b.Context(), true, query); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGuardOverhead: the guard around a call that does nothing — what
// it adds to every database call, without the round trip's noise.
func BenchmarkGuardOverhead(b *testing.B) {
	g := NewGuard(defaultPolicy())
	noop := func(context.Context) error { return nil }
	for b.Loop() {
		if _, err := g.Do(b.Context(), true, noop); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchRows is the size of one insert: every op below writes 10,000 rows.
const benchRows = 10_000

func benchRow(i int) []any { return []any{int64(i), fmt.Sprintf("product %d", i), int32(i % 100)} }

// BenchmarkInsert10k compares four ways to write 10,000 rows, each in one
// transaction: an INSERT per row, one multi-row INSERT, a pgx.Batch of
// INSERTs (one round trip), and COPY.
func BenchmarkInsert10k(b *testing.B) {
	db := pgtest.NewDatabase(b)
	pool, err := pgxpool.New(b.Context(), db.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	ctx := b.Context()
	if _, err := pool.Exec(ctx, "CREATE TABLE items (id bigint, name text, qty int)"); err != nil {
		b.Fatal(err)
	}
	var values strings.Builder
	multiArgs := make([]any, 0, 3*benchRows)
	copyRows := make([][]any, 0, benchRows)
	for i := range benchRows {
		if i > 0 {
			values.WriteString(",")
		}
		fmt.Fprintf(&values, "($%d,$%d,$%d)", 3*i+1, 3*i+2, 3*i+3)
		multiArgs = append(multiArgs, benchRow(i)...)
		copyRows = append(copyRows, benchRow(i))
	}
	const insert = "INSERT INTO items (id, name, qty) VALUES ($1, $2, $3)"
	multi := "INSERT INTO items (id, name, qty) VALUES " + values.String()

	cases := []struct {
		name   string
		insert func(tx pgx.Tx) error
	}{
		{"row_by_row", func(tx pgx.Tx) error {
			for i := range benchRows {
				if _, err := tx.Exec(ctx, insert, benchRow(i)...); err != nil {
					return err
				}
			}
			return nil
		}},
		{"multi_row_insert", func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, multi, multiArgs...)
			return err
		}},
		{"batch", func(tx pgx.Tx) error {
			var batch pgx.Batch
			for i := range benchRows {
				batch.Queue(insert, benchRow(i)...)
			}
			return tx.SendBatch(ctx, &batch).Close()
		}},
		{"copy_from", func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"items"}, []string{"id", "name", "qty"},
				pgx.CopyFromRows(copyRows))
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				truncate(ctx, b, pool)
				b.StartTimer()
				if err := pgx.BeginFunc(ctx, pool, c.insert); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM items").Scan(&n); err != nil || n != benchRows {
				b.Fatalf("%d rows written (err %v), want %d", n, err, benchRows)
			}
		})
	}
}

func truncate(ctx context.Context, b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	if _, err := pool.Exec(ctx, "TRUNCATE items"); err != nil {
		b.Fatal(err)
	}
}

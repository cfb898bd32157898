package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Product is the cached row.
type Product struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
}

// Store is the source of truth: one PostgreSQL table. Queries counts the
// SELECTs it ran, so the demo and tests can see what the cache saved.
type Store struct {
	pool    *pgxpool.Pool
	table   string // quoted identifier
	Queries atomic.Int64
}

// NewStore creates the table (its name is the caller's: one per run or
// per test) and fills it with rows.
func NewStore(ctx context.Context, pool *pgxpool.Pool, table string, rows ...Product) (*Store, error) {
	s := &Store{pool: pool, table: pgx.Identifier{table}.Sanitize()}
	if _, err := pool.Exec(ctx, `CREATE TABLE `+s.table+` (
		id text PRIMARY KEY, name text NOT NULL, price_cents bigint NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	for _, p := range rows {
		if _, err := pool.Exec(ctx, `INSERT INTO `+s.table+` VALUES ($1, $2, $3)`,
			p.ID, p.Name, p.PriceCents); err != nil {
			return nil, fmt.Errorf("insert %s: %w", p.ID, err)
		}
	}
	return s, nil
}

// Drop removes the table.
func (s *Store) Drop(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS `+s.table); err != nil {
		return fmt.Errorf("drop table: %w", err)
	}
	return nil
}

// Product loads one row; a missing row is ErrNotFound.
func (s *Store) Product(ctx context.Context, id string) (Product, error) {
	s.Queries.Add(1)
	p := Product{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT name, price_cents FROM `+s.table+` WHERE id = $1`, id).
		Scan(&p.Name, &p.PriceCents)
	if errors.Is(err, pgx.ErrNoRows) {
		return Product{}, ErrNotFound
	}
	if err != nil {
		return Product{}, fmt.Errorf("select product %s: %w", id, err)
	}
	return p, nil
}

// SetPrice writes the database first; only after the commit may the
// cache entry go (Cache.Invalidate).
func (s *Store) SetPrice(ctx context.Context, id string, cents int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.table+` SET price_cents = $2 WHERE id = $1`, id, cents)
	if err != nil {
		return fmt.Errorf("update product %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("update product %s: %w", id, ErrNotFound)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound: no row for the key.
var ErrNotFound = errors.New("not found")

// Store is the source of truth, a key/value table of the caller's naming.
type Store struct {
	pool  *pgxpool.Pool
	table string // quoted identifier
}

// NewStore creates the table.
func NewStore(ctx context.Context, pool *pgxpool.Pool, table string) (*Store, error) {
	s := &Store{pool: pool, table: pgx.Identifier{table}.Sanitize()}
	if _, err := pool.Exec(ctx, `CREATE TABLE `+s.table+` (k text PRIMARY KEY, v text NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
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

// Load reads one value.
func (s *Store) Load(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT v FROM `+s.table+` WHERE k = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("load %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("load %s: %w", key, err)
	}
	return v, nil
}

// Save upserts one value.
func (s *Store) Save(ctx context.Context, key, value string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO `+s.table+` VALUES ($1, $2)
		ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v`, key, value); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}

// Count is the number of rows.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+s.table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

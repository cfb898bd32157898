package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// createSchema replaces the demo schema, so every run starts empty. A
// service creates its types in a migration, before the pool connects.
func createSchema(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	reset := fmt.Sprintf("DROP SCHEMA IF EXISTS %[1]s CASCADE; CREATE SCHEMA %[1]s;", demoSchema)
	if _, err := conn.Exec(ctx, reset+schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	return nil
}

func dropSchema(ctx context.Context, cfg *pgx.ConnConfig) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+demoSchema+" CASCADE")
		_ = conn.Close(ctx)
	}
}

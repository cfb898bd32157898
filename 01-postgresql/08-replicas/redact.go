package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// openPool parses the URL held in env and creates its pool.
func openPool(ctx context.Context, env, url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, parseError(env, err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	return pool, nil
}

// parseError rebuilds the error of parsing the connection string in env
// from its message alone, without the connection string. pgconn masks the
// password in its message on a best-effort basis only, and its
// *pgconn.ParseConfigError keeps the raw string in ConnString, where %#v,
// errors.As and loggers that print structs find it: the rebuilt error
// wraps nothing.
func parseError(env string, err error) error {
	if pe, ok := errors.AsType[*pgconn.ParseConfigError](err); ok {
		bare := *pe
		bare.ConnString = ""
		return fmt.Errorf("parse %s: %s", env, strings.TrimPrefix(bare.Error(), "cannot parse ``: "))
	}
	return fmt.Errorf("parse %s: %s", env, err.Error())
}

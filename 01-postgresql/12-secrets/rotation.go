package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// rotationDemo shows when the password file is read: by every new
// connection, not once at start. It writes the working password to a file
// of its own (a stand-in for a mounted secret), opens a connection, puts a
// password the server does not know into the file, and opens another.
func rotationDemo(ctx context.Context, base *pgxpool.Config, stdout io.Writer) (err error) {
	dir, err := os.MkdirTemp("", "secret-")
	if err != nil {
		return fmt.Errorf("secret dir: %w", err)
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	file := filepath.Join(dir, "db-password")
	write := func(p string) error { return os.WriteFile(file, []byte(p+"\n"), 0o600) }
	if err := write(base.ConnConfig.Password); err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	cfg := base.Copy()
	readOnConnect(cfg, file)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()

	first, err := pool.Acquire(ctx) // a new connection: reads the file
	if err != nil {
		return fmt.Errorf("connection 1: %w", err)
	}
	defer first.Release()
	fmt.Fprintln(stdout, "connection 1, password file as mounted: ok")

	if err := write("not-the-password"); err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	second, err := pool.Acquire(ctx) // connection 1 is busy: a new one
	if err == nil {
		second.Release()
		return errors.New("connection 2 logged in with a password the server does not know")
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("connection 2: %w", err)
	}
	fmt.Fprintf(stdout, "connection 2, file changed: refused (SQLSTATE %s)\n", pgErr.Code)
	if _, err := first.Exec(ctx, "SELECT 1"); err != nil {
		return fmt.Errorf("connection 1 after the change: %w", err)
	}
	fmt.Fprintln(stdout, "connection 1, already open: still serves")

	if err := write(base.ConnConfig.Password); err != nil {
		return fmt.Errorf("write secret: %w", err)
	}
	third, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connection 3: %w", err)
	}
	third.Release()
	fmt.Fprintln(stdout, "connection 3, file changed back: ok")
	return nil
}

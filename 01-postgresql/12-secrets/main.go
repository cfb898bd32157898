// Command 12-secrets takes the database password from a secret file, reads
// that file again for every new connection (a rotated password needs no
// restart), and keeps the password out of logs, errors and output.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Logs without timestamps, so the output is stable.
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	cfg, from, err := newPoolConfig(getenv)
	if err != nil {
		return err
	}
	// The Secret logs as [REDACTED]: a log line can never leak it.
	logger.Info("connecting", "user", cfg.ConnConfig.User, "database", cfg.ConnConfig.Database,
		"password", Secret(cfg.ConnConfig.Password), "password_from", from)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	var user string
	if err := pool.QueryRow(ctx, "SELECT current_user").Scan(&user); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	fmt.Fprintf(stdout, "connected as %s\n", user)
	return rotationDemo(ctx, cfg, stdout)
}

// newPoolConfig parses DATABASE_URL and sets the password from its source.
// With a file, BeforeConnect reads it for every new connection.
func newPoolConfig(getenv func(string) string) (*pgxpool.Config, string, error) {
	file, from, err := passwordFrom(getenv)
	if err != nil {
		return nil, "", err
	}
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return nil, "", parseError("DATABASE_URL", err)
	}
	switch from {
	case "file":
		// Read once now, so a missing or malformed file fails at start.
		p, err := readSecretFile(file)
		if err != nil {
			return nil, "", err
		}
		cfg.ConnConfig.Password = p.Reveal()
		readOnConnect(cfg, file)
	case "env":
		cfg.ConnConfig.Password = getenv("DATABASE_PASSWORD")
	}
	return cfg, from, nil
}

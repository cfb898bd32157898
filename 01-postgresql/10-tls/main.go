// Command 10-tls connects to PostgreSQL with sslmode=verify-full spelled out
// in a tls.Config (only our CA, each host's name checked, no plain-text
// fallback) and proves the TLS state from the server's own pg_stat_ssl.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
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
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	caFile := cmp.Or(getenv("PG_CA_CERT"), ".stack/certs/ca.crt")
	if err := verifyFull(cfg, caFile); err != nil {
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()

	// Proof from the server side: pg_stat_ssl describes this very connection.
	var ssl bool
	var version string
	if err := pool.QueryRow(ctx, `SELECT ssl, coalesce(version, '')
		FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl, &version); err != nil {
		return fmt.Errorf("read pg_stat_ssl: %w", err)
	}
	fmt.Fprintf(stdout, "tls: pg_stat_ssl ssl=%t version=%s\n", ssl, version)

	// What the URL alone would have done: sslmode=prefer (the default) keeps
	// a plain-text retry of every host and accepts any certificate.
	plain, err := pgxpool.ParseConfig(cfg.ConnString())
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	fmt.Fprintf(stdout, "sslmode from the URL: %d plain-text fallback(s)\n", countPlain(plain))
	fmt.Fprintf(stdout, "verify-full: %d plain-text fallback(s), server name %s checked\n",
		countPlain(cfg), cfg.ConnConfig.TLSConfig.ServerName)

	// A server (or a man in the middle) that declines TLS: refused, no retry
	// in plain text. Injected in process by a listener that answers 'N'.
	err = refusedWithoutTLS(ctx, cfg)
	fmt.Fprintf(stdout, "server without TLS: %v\n", err)
	return nil
}

// countPlain counts the connection attempts pgx would make without TLS.
func countPlain(cfg *pgxpool.Config) int {
	n := 0
	if cfg.ConnConfig.TLSConfig == nil {
		n++
	}
	for _, fb := range cfg.ConnConfig.Fallbacks {
		if fb.TLSConfig == nil {
			n++
		}
	}
	return n
}

// Command 01-pgx-config builds a pgxpool.Config from DATABASE_URL and sets in
// code what a production service needs: a name, server-side timeouts, a
// fixed search_path, a connect timeout, verified TLS and connection hooks.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	appName          = "01-pgx-config"
	statementTimeout = time.Second
	lockTimeout      = 500 * time.Millisecond
	connectTimeout   = 5 * time.Second
)

// errNoDeadline is what PrepareConn returns for a query whose context has
// no deadline: such a query could hold a connection forever.
var errNoDeadline = errors.New("query without a context deadline")

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := newPoolConfig(getenv)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create pool: %w", err)
	}
	defer pool.Close()

	// Read every setting back from the server: a runtime parameter the
	// server ignored or a proxy dropped shows up here, not in production.
	settings := []string{"application_name", "statement_timeout", "lock_timeout", "search_path"}
	for _, name := range settings {
		var value string
		if err := pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&value); err != nil {
			return fmt.Errorf("show %s: %w", name, err)
		}
		fmt.Fprintf(stdout, "%-17s = %s\n", name, value)
	}
	var tlsVersion string
	err = pool.QueryRow(ctx,
		"SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl").Scan(&tlsVersion)
	if err != nil {
		return fmt.Errorf("read tls state: %w", err)
	}
	fmt.Fprintf(stdout, "%-17s = %s, verify-full\n", "tls", tlsVersion)

	// PrepareConn refuses a query without a deadline before it reaches the
	// server; the connection goes back to the pool unharmed.
	_, err = pool.Exec(context.WithoutCancel(ctx), "SELECT 1")
	fmt.Fprintf(stdout, "no deadline       : %v\n", err)

	// statement_timeout is enforced by the server even when a client forgets
	// its own deadline; the error carries SQLSTATE 57014 (query_canceled).
	_, err = pool.Exec(ctx, "SELECT pg_sleep(10)")
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		fmt.Fprintf(stdout, "pg_sleep(10)      : %s (SQLSTATE %s)\n", pgErr.Message, pgErr.Code)
		return nil
	}
	return fmt.Errorf("pg_sleep(10) was not canceled by statement_timeout: %w", err)
}

// newPoolConfig parses DATABASE_URL and overrides, in code, every setting
// the service must not leave to whoever writes the URL.
func newPoolConfig(getenv func(string) string) (*pgxpool.Config, error) {
	dsn := cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, parseError("DATABASE_URL", err)
	}

	// Runtime parameters travel in the startup packet, so they hold from
	// the first query on, with no extra round trip. A fixed search_path
	// keeps objects in a schema named after a role from shadowing public.
	params := cfg.ConnConfig.RuntimeParams
	params["application_name"] = appName
	params["statement_timeout"] = fmt.Sprint(statementTimeout.Milliseconds())
	params["lock_timeout"] = fmt.Sprint(lockTimeout.Milliseconds())
	params["search_path"] = "public"
	cfg.ConnConfig.ConnectTimeout = connectTimeout

	// verify-full: the server certificate must chain to our CA and name the
	// host. Fallbacks hold the plain-text retry of the default sslmode=prefer,
	// and the other hosts of a multi-host URL: this config serves one host
	// and refuses more, rather than dropping them without a word.
	for _, fb := range cfg.ConnConfig.Fallbacks {
		if fb.Host != cfg.ConnConfig.Host || fb.Port != cfg.ConnConfig.Port {
			return nil, fmt.Errorf("parse DATABASE_URL: want one host, got %s too", fb.Host)
		}
	}
	caPath := cmp.Or(getenv("PG_CA_CERT"), ".stack/certs/ca.crt")
	pem, err := os.ReadFile(caPath)
	if err != nil {
		return nil, fmt.Errorf("read PG_CA_CERT: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read PG_CA_CERT %s: no PEM certificate", caPath)
	}
	cfg.ConnConfig.TLSConfig = &tls.Config{
		RootCAs:    roots,
		ServerName: cfg.ConnConfig.Host,
		MinVersion: tls.VersionTLS12,
	}
	cfg.ConnConfig.Fallbacks = nil

	// AfterConnect runs once per new connection: refuse a hot standby, which
	// a DNS name of the primary can point at during a failover. The server
	// reports in_hot_standby at startup, so the check costs no round trip.
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		if conn.PgConn().ParameterStatus("in_hot_standby") == "on" {
			return errors.New("connected to a hot standby, want the primary")
		}
		return nil
	}
	// PrepareConn runs on every acquire. Returning true with an error fails
	// the query but keeps the connection in the pool.
	cfg.PrepareConn = func(ctx context.Context, _ *pgx.Conn) (bool, error) {
		if _, ok := ctx.Deadline(); !ok {
			return true, errNoDeadline
		}
		return true, nil
	}
	return cfg, nil
}

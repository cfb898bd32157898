// Command 13-observability instruments pgx: a query tracer feeds a
// Prometheus duration histogram and OpenTelemetry spans (exported over OTLP
// to Jaeger), and pool statistics are served on /metrics from the
// program's own registry.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("13-observability", flag.ContinueOnError)
	fs.SetOutput(stdout)
	serve := fs.Bool("serve", false, "keep serving /metrics until Ctrl-C")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage
		}
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	service := cmp.Or(getenv("OTEL_SERVICE_NAME"), "orders-db")

	// Traces: batched OTLP/HTTP export. Shutdown flushes what is buffered,
	// so it runs with its own deadline even after ctx is done.
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(
		strings.TrimSuffix(cmp.Or(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318"), "/")+"/v1/traces"))
	if err != nil {
		return fmt.Errorf("otlp exporter: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))))
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if serr := tp.Shutdown(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("flush traces: %w", serr))
		}
	}()

	// Metrics: an own registry, not the global default one.
	reg := prometheus.NewRegistry()
	duration := newDurationHistogram()
	cfg, err := pgxpool.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	cfg.MaxConns = 4
	cfg.ConnConfig.Tracer = newQueryTracer(tp.Tracer("orders"), duration, &cfg.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := errors.Join(reg.Register(duration), reg.Register(newPoolCollector(pool, "primary"))); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}

	addr, shutdown, err := serveMetrics(ctx, cmp.Or(getenv("METRICS_ADDR"), "127.0.0.1:9464"), reg)
	if err != nil {
		return err
	}
	defer shutdown()
	fmt.Fprintf(stdout, "metrics: http://%s/metrics\n", addr)

	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := workload(qctx, tp, pool, stdout); err != nil {
		return err
	}
	if err := printScrape(qctx, addr, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "traces: service %s, exported on exit\n", service)
	if *serve {
		<-ctx.Done()
	}
	return nil
}

// workload runs a few queries under one parent span, one of them failing.
func workload(ctx context.Context, tp *sdktrace.TracerProvider, pool *pgxpool.Pool, stdout io.Writer) error {
	ctx, span := tp.Tracer("orders").Start(ctx, "list-orders")
	defer span.End()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS obs_orders (id int PRIMARY KEY)`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	for id := range 3 {
		if _, err := pool.Exec(ctx, "INSERT INTO obs_orders VALUES ($1) ON CONFLICT DO NOTHING", id); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM obs_orders").Scan(&n); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	fmt.Fprintf(stdout, "orders: %d\n", n)
	// A failing query: an error span and a status="error" observation.
	_, err := pool.Exec(ctx, "SELECT * FROM obs_no_such_table")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return fmt.Errorf("failing query: want a server error, got %w", err)
	}
	fmt.Fprintf(stdout, "failing query: SQLSTATE %s\n", pgErr.Code)
	return nil
}

// Command 03-tracing-hooks traces pgx: the tracelog adapter writes every
// query, batch, COPY and connect to log/slog without its arguments, and a
// custom tracer times each operation and flags slow ones; multitracer
// runs both.
package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/tracelog"
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
	// Times, durations and the server's pid differ on every run; they are
	// left out here so the output can be quoted. A service keeps them.
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "duration", "pid", "host", "port":
				return slog.Attr{}
			}
			return a
		},
	}))

	cfg, err := pgx.ParseConfig(cmp.Or(getenv("DATABASE_URL"), "postgres://app:app@localhost:5432/app"))
	if err != nil {
		return parseError("DATABASE_URL", err)
	}
	var events []queryEvent
	// The threshold sits well above a local round trip, so only the
	// pg_sleep below crosses it, even on a loaded machine.
	slow := &slowTracer{
		threshold: 500 * time.Millisecond,
		log:       log,
		observe:   func(ev queryEvent) { events = append(events, ev) },
	}
	// One Tracer per connection config; multitracer fans each hook out to
	// every tracer that implements it.
	cfg.Tracer = multitracer.New(
		&tracelog.TraceLog{
			Logger:   slogLogger(log),
			LogLevel: tracelog.LogLevelInfo,
			// tracelog's default key "time" would clash with the log record's own time.
			Config: &tracelog.TraceLogConfig{TimeKey: "duration"},
		},
		slow,
	)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		// Close sends Terminate: bound it on its own, run's deadline may be spent.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	}()

	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE accounts (name text, password_hash text)"); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	// The hash is a bound argument: it must not reach the log.
	_, err = conn.Exec(ctx, "INSERT INTO accounts VALUES ($1, $2)", "ada", "$2a$10$secret-hash")
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"name", "password_hash"},
		pgx.CopyFromRows([][]any{{"bob", "$2a$10$other-hash"}}))
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	batch := &pgx.Batch{}
	batch.Queue("SELECT count(*) FROM accounts")
	batch.Queue("SELECT 1")
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_sleep(0.6)"); err != nil {
		return fmt.Errorf("sleep: %w", err)
	}

	n := 0
	for _, ev := range events {
		if ev.Slow {
			n++
		}
	}
	fmt.Fprintf(stdout, "traced %d operations, %d slow (threshold %v)\n", len(events), n, slow.threshold)
	return nil
}

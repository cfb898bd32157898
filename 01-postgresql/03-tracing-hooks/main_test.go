package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/tracelog"
)

func TestRun_logs_every_operation_and_flags_the_slow_one(t *testing.T) {
	testkit.Require(t, testkit.Postgres)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, nil), &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != wantOutput {
		t.Errorf("output:\n%s\nwant:\n%s", got, wantOutput)
	}
	testkit.CheckReadme(t, 0, out.String())
	if strings.Contains(out.String(), "secret-hash") || strings.Contains(out.String(), "other-hash") {
		t.Error("a bound argument reached the log")
	}
}

// tracedConn connects with both tracers; the log goes to logs and every
// event of the custom tracer to events.
func tracedConn(t *testing.T, threshold time.Duration, newHandler ...func(io.Writer) slog.Handler) (*pgx.Conn, *bytes.Buffer, *[]queryEvent) {
	t.Helper()
	cfg, err := pgx.ParseConfig(testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var events []queryEvent
	var h slog.Handler = slog.NewTextHandler(&logs, nil)
	if len(newHandler) > 0 {
		h = newHandler[0](&logs)
	}
	log := slog.New(h)
	cfg.Tracer = multitracer.New(
		&tracelog.TraceLog{
			Logger:   slogLogger(log),
			LogLevel: tracelog.LogLevelInfo,
			// tracelog's default key "time" would clash with the log record's own time.
			Config: &tracelog.TraceLogConfig{TimeKey: "duration"},
		},
		&slowTracer{threshold: threshold, log: log, observe: func(ev queryEvent) { events = append(events, ev) }},
	)
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// t.Context is already canceled when cleanups run.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = conn.Close(ctx)
	})
	return conn, &logs, &events
}

func TestSlowTracer_sees_each_operation_with_a_duration(t *testing.T) {
	t.Parallel()
	conn, _, events := tracedConn(t, 100*time.Millisecond)
	ctx := t.Context()
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	batch := &pgx.Batch{}
	batch.Queue("SELECT 2")
	batch.Queue("SELECT 3")
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE t (n int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"t"}, []string{"n"}, pgx.CopyFromRows([][]any{{1}})); err != nil {
		t.Fatal(err)
	}
	// pg_sleep(0.15) takes at least 150ms: over the 100ms threshold.
	if _, err := conn.Exec(ctx, "SELECT pg_sleep(0.15)"); err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT 1", "batch of 2 queries", "CREATE TEMP TABLE t (n int)", `COPY "t"`, "SELECT pg_sleep(0.15)"}
	if len(*events) != len(want) {
		t.Fatalf("events = %+v, want %d", *events, len(want))
	}
	for i, ev := range *events {
		if ev.SQL != want[i] || ev.Duration <= 0 || ev.Slow != (ev.Duration >= 100*time.Millisecond) {
			t.Errorf("event %d = %+v, want SQL %q with a duration", i, ev, want[i])
		}
	}
	if last := (*events)[len(want)-1]; !last.Slow {
		t.Errorf("pg_sleep(0.15) not flagged slow: %+v", last)
	}
}

func TestTracers_log_sql_but_never_arguments(t *testing.T) {
	t.Parallel()
	conn, logs, _ := tracedConn(t, time.Nanosecond) // every query is "slow"
	const secret = "hunter2-token"
	var got string
	if err := conn.QueryRow(t.Context(), "SELECT $1::text", secret).Scan(&got); err != nil || got != secret {
		t.Fatal(err)
	}
	// A failing query is logged at ERROR; the server's message would quote
	// the argument, so only the SQLSTATE is logged.
	_, _ = conn.Exec(t.Context(), "SELECT $1::int", secret)
	text := logs.String()
	for _, want := range []string{`level=INFO msg="pgx Query"`, `level=WARN msg="slow query"`,
		`level=ERROR msg="pgx Query"`, `err="SQLSTATE 22P02"`, `sql="SELECT $1::text"`} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, secret) {
		t.Errorf("argument in the log:\n%s", text)
	}
}

const wantOutput = `level=INFO msg="pgx Connect" database=app
level=INFO msg="pgx Query" commandTag="CREATE TABLE" sql="CREATE TEMP TABLE accounts (name text, password_hash text)"
level=INFO msg="pgx Prepare" alreadyPrepared=false name=stmtcache_157d124763f492d0dfbf75d6a25943e7652b9be1a65347a1 sql="INSERT INTO accounts VALUES ($1, $2)"
level=INFO msg="pgx Query" commandTag="INSERT 0 1" sql="INSERT INTO accounts VALUES ($1, $2)"
level=INFO msg="pgx Prepare" alreadyPrepared=false name=stmtcache_22f68ac060669e09f9fc6dfddbd35dee66a05141af1493df sql="select \"name\", \"password_hash\" from \"accounts\""
level=INFO msg="pgx CopyFrom" columnNames="[name password_hash]" err=<nil> rowCount=1 tableName=[accounts]
level=INFO msg="pgx BatchQuery" commandTag="SELECT 1" sql="SELECT count(*) FROM accounts"
level=INFO msg="pgx BatchQuery" commandTag="SELECT 1" sql="SELECT 1"
level=INFO msg="pgx BatchClose"
level=INFO msg="pgx Query" commandTag="SELECT 1" sql="SELECT pg_sleep(0.6)"
level=WARN msg="slow query" sql="SELECT pg_sleep(0.6)" threshold=500ms
traced 5 operations, 1 slow (threshold 500ms)
`

// Neither the server's message nor pgx's encode error reaches the log: both
// quote the argument. Text and JSON handlers alike.
func TestTracers_log_errors_by_class_not_by_text(t *testing.T) {
	t.Parallel()
	const secret = "tok3n-s3cret"
	handlers := map[string]func(io.Writer) slog.Handler{
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conn, logs, _ := tracedConn(t, time.Nanosecond, h)
			ctx := t.Context()
			// The server refuses the value and quotes it in its message.
			if _, err := conn.Exec(ctx, "SELECT $1::text::int", secret); err == nil {
				t.Fatal("cast of a non-number succeeded")
			}
			// pgx cannot encode the value and prints it in its error.
			if _, err := conn.Exec(ctx, "SELECT $1::int", struct{ Token string }{secret}); err == nil {
				t.Fatal("encode of a struct into int succeeded")
			}
			text := logs.String()
			if strings.Contains(text, secret) {
				t.Errorf("an argument reached the log:\n%s", text)
			}
			for _, want := range []string{"SQLSTATE 22P02", "client error "} {
				if !strings.Contains(text, want) {
					t.Errorf("log lacks %q:\n%s", want, text)
				}
			}
		})
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/tracelog"
)

// queryEvent is one traced operation: a query, a batch or a COPY.
type queryEvent struct {
	SQL      string
	Duration time.Duration
	Slow     bool
}

// slowTracer times queries, batches and COPYs, logs the ones slower than
// threshold, and hands every event to observe (a histogram in a service).
// It implements pgx.QueryTracer, pgx.BatchTracer and pgx.CopyFromTracer.
// On a pool every connection calls it concurrently, so observe must be safe
// for concurrent use (a Prometheus histogram is; the demo's slice is not).
type slowTracer struct {
	threshold time.Duration
	log       *slog.Logger
	observe   func(queryEvent)
}

// traceStart travels in the context from a Start hook to its End hook:
// a tracer is shared by every connection, so it must keep no state of its own.
type traceStart struct {
	sql string
	at  time.Time
}

type traceKey struct{}

func (t *slowTracer) start(ctx context.Context, sql string) context.Context {
	return context.WithValue(ctx, traceKey{}, traceStart{sql: sql, at: time.Now()})
}

func (t *slowTracer) end(ctx context.Context, err error) {
	s, ok := ctx.Value(traceKey{}).(traceStart)
	if !ok {
		return
	}
	ev := queryEvent{SQL: s.sql, Duration: time.Since(s.at)}
	ev.Slow = ev.Duration >= t.threshold
	if ev.Slow {
		// The SQL text only: arguments may be passwords or personal data.
		attrs := []slog.Attr{slog.String("sql", ev.SQL),
			slog.Duration("duration", ev.Duration), slog.Duration("threshold", t.threshold)}
		if err != nil {
			attrs = append(attrs, slog.String("err", safeErr(err)))
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, "slow query", attrs...)
	}
	t.observe(ev)
}

func (t *slowTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return t.start(ctx, d.SQL)
}

func (t *slowTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	t.end(ctx, d.Err)
}

func (t *slowTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	return t.start(ctx, fmt.Sprintf("batch of %d queries", d.Batch.Len()))
}

func (t *slowTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *slowTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	t.end(ctx, d.Err)
}

func (t *slowTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	return t.start(ctx, "COPY "+d.TableName.Sanitize())
}

func (t *slowTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromEndData) {
	t.end(ctx, d.Err)
}

// safeErr describes err by its class, never by its text. PostgreSQL quotes
// the offending value in its messages ("invalid input syntax for type
// integer: \"<your argument>\"", "Key (email)=(...) already exists"), and
// pgx's own encode errors print the argument ("unable to encode ..."), so
// a message can leak an argument the log never saw directly. What is left:
// the SQLSTATE (and constraint) of a server error, the context's verdict,
// or the Go type of a client error.
func safeErr(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		if pgErr.ConstraintName != "" {
			return fmt.Sprintf("SQLSTATE %s (constraint %s)", pgErr.Code, pgErr.ConstraintName)
		}
		return "SQLSTATE " + pgErr.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	case errors.Is(err, context.Canceled):
		return "context canceled"
	}
	return "client error " + errorType(err)
}

// errorType is the Go type of the first error in err's chain that is more
// than a wrapper made by fmt.Errorf or errors.Join.
func errorType(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch t := fmt.Sprintf("%T", e); t {
		case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		default:
			return t
		}
	}
	return fmt.Sprintf("%T", err)
}

// slogLogger adapts tracelog onto log/slog. tracelog puts query arguments
// under "args"; they are dropped, because a bound parameter is exactly
// where passwords, tokens and personal data travel. Errors go through
// safeErr for the same reason.
func slogLogger(l *slog.Logger) tracelog.LoggerFunc {
	return func(ctx context.Context, level tracelog.LogLevel, msg string, data map[string]any) {
		attrs := make([]slog.Attr, 0, len(data))
		for _, k := range slices.Sorted(maps.Keys(data)) {
			switch v := data[k].(type) {
			case error:
				attrs = append(attrs, slog.String(k, safeErr(v)))
			default:
				if k != "args" {
					attrs = append(attrs, slog.Any(k, v))
				}
			}
		}
		l.LogAttrs(ctx, slogLevel(level), "pgx "+msg, attrs...)
	}
}

func slogLevel(l tracelog.LogLevel) slog.Level {
	switch l {
	case tracelog.LogLevelTrace, tracelog.LogLevelDebug:
		return slog.LevelDebug
	case tracelog.LogLevelInfo:
		return slog.LevelInfo
	case tracelog.LogLevelWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

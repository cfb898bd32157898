package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// queryTracer is a pgx.QueryTracer that opens an OpenTelemetry client span
// per query, with the database semantic conventions, and observes the
// query's duration in a Prometheus histogram.
// https://opentelemetry.io/docs/specs/semconv/database/postgresql/
type queryTracer struct {
	tracer   trace.Tracer
	duration *prometheus.HistogramVec // labels: db_operation_name, status
	attrs    []attribute.KeyValue     // the same on every span
}

func newQueryTracer(t trace.Tracer, duration *prometheus.HistogramVec, cfg *pgconn.Config) *queryTracer {
	return &queryTracer{tracer: t, duration: duration, attrs: []attribute.KeyValue{
		semconv.DBSystemNamePostgreSQL,
		semconv.DBNamespace(cfg.Database),
		semconv.ServerAddress(cfg.Host),
		semconv.ServerPort(int(cfg.Port)),
	}}
}

// newDurationHistogram mirrors OTel's db.client.operation.duration. Labels
// stay low-cardinality: the statement's verb, never its text.
func newDurationHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "db_client_operation_duration_seconds",
		Help:    "Duration of PostgreSQL queries, from pgx's query tracer.",
		Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10},
	}, []string{"db_operation_name", "status"})
}

type startKey struct{}

type queryStart struct {
	at time.Time
	op string
}

func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	op := operation(data.SQL)
	attrs := make([]attribute.KeyValue, 0, len(t.attrs)+2)
	attrs = append(attrs, t.attrs...)
	attrs = append(attrs, semconv.DBOperationName(op),
		// The text with $1 placeholders: arguments (user data) stay out of traces.
		semconv.DBQueryText(data.SQL))
	ctx, _ = t.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, startKey{}, queryStart{at: time.Now(), op: op})
}

func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	defer span.End()
	start, ok := ctx.Value(startKey{}).(queryStart)
	if !ok {
		return
	}
	status := "ok"
	if data.Err != nil {
		status = "error"
		// The class of the error, never its text: the server's message
		// quotes argument values and pgx's encode errors print them, so
		// neither span.RecordError nor the message as status description.
		errType := errorType(data.Err)
		if pgErr, ok := errors.AsType[*pgconn.PgError](data.Err); ok {
			errType = pgErr.Code
			span.SetAttributes(semconv.DBResponseStatusCode(pgErr.Code))
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	t.duration.WithLabelValues(start.op, status).Observe(time.Since(start.at).Seconds())
}

// operation is the statement's first keyword, from a fixed list so that a
// label never takes arbitrary values.
func operation(sql string) string {
	verb, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	verb = strings.ToUpper(verb)
	switch verb {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE":
		return verb
	}
	return "OTHER"
}

// errorType is the error.type of a client error: context.Canceled and
// DeadlineExceeded by name, else the Go type of the first error in the
// chain that is more than a wrapper made by fmt.Errorf or errors.Join.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch t := fmt.Sprintf("%T", e); t {
		case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		default:
			return t
		}
	}
	return fmt.Sprintf("%T", err)
}

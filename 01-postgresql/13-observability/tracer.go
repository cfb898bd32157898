package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// queryTracer opens an OpenTelemetry client span per query, batch, COPY,
// connect and pool acquire, with the database semantic conventions, and
// observes the duration of queries, batches and COPYs in a Prometheus
// histogram. It implements pgx.QueryTracer, pgx.BatchTracer,
// pgx.CopyFromTracer, pgx.ConnectTracer and pgxpool.AcquireTracer: pgx has
// one Tracer slot, and each interface it implements is called.
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
	t.end(ctx, data.Err)
}

// end ends the span in ctx with the outcome of err and, for an operation
// started by begin, observes its duration.
func (t *queryTracer) end(ctx context.Context, err error) {
	span := trace.SpanFromContext(ctx)
	defer span.End()
	status := "ok"
	if err != nil {
		status = "error"
		// The class of the error, never its text: the server's message
		// quotes argument values and pgx's encode errors print them, so
		// neither span.RecordError nor the message as status description.
		errType := errorType(err)
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
			errType = pgErr.Code
			span.SetAttributes(semconv.DBResponseStatusCode(pgErr.Code))
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	if start, ok := ctx.Value(startKey{}).(queryStart); ok {
		t.duration.WithLabelValues(start.op, status).Observe(time.Since(start.at).Seconds())
	}
}

// begin opens a client span named op with the connection's attributes.
func (t *queryTracer) begin(ctx context.Context, op string, extra ...attribute.KeyValue) context.Context {
	attrs := make([]attribute.KeyValue, 0, len(t.attrs)+len(extra))
	attrs = append(append(attrs, t.attrs...), extra...)
	ctx, _ = t.tracer.Start(ctx, op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// TraceBatchStart opens one span for the whole batch: one round trip.
func (t *queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	ctx = t.begin(ctx, "BATCH", semconv.DBOperationName("BATCH"),
		semconv.DBOperationBatchSize(data.Batch.Len()))
	return context.WithValue(ctx, startKey{}, queryStart{at: time.Now(), op: "BATCH"})
}

func (t *queryTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t *queryTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	t.end(ctx, data.Err)
}

func (t *queryTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	ctx = t.begin(ctx, "COPY", semconv.DBOperationName("COPY"),
		semconv.DBCollectionName(strings.Join(data.TableName, ".")))
	return context.WithValue(ctx, startKey{}, queryStart{at: time.Now(), op: "COPY"})
}

func (t *queryTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	t.end(ctx, data.Err)
}

// TraceConnectStart: a new connection (TCP, TLS, authentication) is the
// slow path of a pool; its span shows when a request paid for one.
func (t *queryTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return t.begin(ctx, "connect")
}

func (t *queryTracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	t.end(ctx, data.Err)
}

// TraceAcquireStart: time spent waiting for a pool connection, the first
// sign of a pool too small for its load.
func (t *queryTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return t.begin(ctx, "pool.acquire")
}

func (t *queryTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	t.end(ctx, data.Err)
}

// operation is the statement's first keyword, from a fixed list so that a
// label never takes arbitrary values.
func operation(sql string) string {
	verb, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	verb = strings.ToUpper(verb)
	switch verb {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE", "BATCH", "COPY":
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

package main

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// traceHandler adds trace_id and span_id to every record whose context
// carries a valid OpenTelemetry span, then hands it to the next handler.
// It is what ties a log line to its trace: call the ...Context methods.
type traceHandler struct{ next slog.Handler }

func newTraceHandler(next slog.Handler) slog.Handler { return traceHandler{next: next} }

func (h traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{next: h.next.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{next: h.next.WithGroup(name)}
}

// Secret is a string that never reaches a log line: every formatter that
// slog, fmt or encoding/json uses is answered with the mask.
type Secret string

const mask = "[REDACTED]"

func (Secret) LogValue() slog.Value         { return slog.StringValue(mask) }
func (Secret) String() string               { return mask }
func (Secret) GoString() string             { return mask }
func (Secret) MarshalText() ([]byte, error) { return []byte(mask), nil }
func (s Secret) Reveal() string             { return string(s) }

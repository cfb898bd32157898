// Command 03-zerolog shows zerolog's chained API: context loggers carried
// in a context.Context, a hook that adds the trace id, sampling, secrets
// masked, and zerolog as the handler behind log/slog.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("03-zerolog", flag.ContinueOnError)
	fs.SetOutput(stdout)
	withTime := fs.Bool("time", true, "print the time field (off for comparable output)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	// A Logger is a value: Level, With and Hook return copies. The hook
	// runs on every event and reads the trace id from the event's context.
	zctx := zerolog.New(stdout).Level(zerolog.InfoLevel).Hook(traceHook{}).With()
	if *withTime {
		zctx = zctx.Timestamp()
	}
	logger := zctx.Str("service", "orders").Logger()

	fmt.Fprintln(stdout, "-- chained fields; the event is written by Msg (or Send)")
	logger.Info().Str("method", "GET").Int("status", 200).Dur("took", 1500*time.Microsecond).Msg("request")
	logger.Debug().Str("key", "user:42").Msg("below the level: never built")
	fmt.Fprintln(stdout, "-- an event without Msg or Send logs nothing (and is not pooled)")
	logger.Info().Str("order", "42") //nolint:zerologlint // the pitfall, on purpose

	fmt.Fprintln(stdout, "-- a context logger: request fields, found again with zerolog.Ctx")
	reqCtx := logger.With().Str("request_id", "r-1").Logger().WithContext(ctx)
	handle(reqCtx)

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	traced := trace.ContextWithSpanContext(ctx, sc)
	fmt.Fprintln(stdout, "-- the hook adds trace_id only when the event has the context: .Ctx(ctx)")
	logger.Info().Int("amount_cents", 1250).Msg("charged")
	logger.Info().Ctx(traced).Int("amount_cents", 1250).Msg("charged")

	fmt.Fprintln(stdout, "-- secrets, and keys that are not de-duplicated")
	logger.Info().Str("user", "alice").Stringer("password", Secret("hunter2")).Msg("login")
	withUser := logger.With().Str("user", "alice").Logger()
	withUser.Info().Str("user", "bob").Msg("renamed")

	// A burst of 2 per minute, then 1 in 3: a sampled logger for a
	// message that can repeat in a loop.
	fmt.Fprintln(stdout, "-- sampling: 10 identical lines, burst 2 then 1 in 3")
	sampled := logger.Sample(&zerolog.BurstSampler{Burst: 2, Period: time.Minute,
		NextSampler: &zerolog.BasicSampler{N: 3}})
	for i := range 10 {
		sampled.Warn().Int("attempt", i+1).Msg("queue full")
	}

	// slog's API on zerolog's encoder: the context reaches the hook. The
	// cost: slog builds a Record and attrs, then zerolog re-encodes them,
	// and attributes from With are re-encoded on every line.
	fmt.Fprintln(stdout, "-- zerolog behind slog: zerolog.NewSlogHandler")
	slogger := slog.New(zerolog.NewSlogHandler(logger))
	slogger.InfoContext(traced, "from a library", "user", "alice", "password", Secret("hunter2"))
	return nil
}

// handle stands for code deep in a request: it gets the logger from ctx.
func handle(ctx context.Context) {
	zerolog.Ctx(ctx).Info().Str("step", "validate").Msg("handling")
}

// traceHook adds trace_id and span_id from the event's context.
type traceHook struct{}

func (traceHook) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	if sc := trace.SpanContextFromContext(e.GetCtx()); sc.IsValid() {
		e.Str("trace_id", sc.TraceID().String()).Str("span_id", sc.SpanID().String())
	}
}

// Secret logs as the mask through zerolog (Stringer, Interface) and slog.
type Secret string

const mask = "[REDACTED]"

func (Secret) String() string               { return mask }
func (Secret) GoString() string             { return mask }
func (Secret) LogValue() slog.Value         { return slog.StringValue(mask) }
func (Secret) MarshalText() ([]byte, error) { return []byte(mask), nil }

// Command 01-slog shows log/slog set up for a service: a JSON handler with a
// level changed at run time, With and groups, trace ids taken from the
// context, secrets that never reach a line, and LogAttrs for hot paths.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("01-slog", flag.ContinueOnError)
	fs.SetOutput(stdout)
	withTime := fs.Bool("time", true, "print the time attribute (off for comparable output)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	// A LevelVar is read on every call: Set changes the level of every
	// logger built on it at run time (from an admin endpoint, a signal).
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(cmp.Or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return fmt.Errorf("LOG_LEVEL: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactKeys}
	if !*withTime {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // an empty Attr is dropped
			}
			return redactKeys(groups, a)
		}
	}
	logger := slog.New(newTraceHandler(slog.NewJSONHandler(stdout, opts)))

	fmt.Fprintln(stdout, "-- level: Debug is dropped at info, printed after level.Set(Debug)")
	logger.Debug("cache miss", "key", "user:42")
	level.Set(slog.LevelDebug)
	logger.Debug("cache miss", "key", "user:42")
	level.Set(slog.LevelInfo)

	fmt.Fprintln(stdout, "-- With adds attributes once; WithGroup nests what follows")
	reqLog := logger.With("service", "orders").WithGroup("http")
	reqLog.Info("request", "method", "GET", "status", 200)

	// A span context as a tracer would put it in the request's context.
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx = trace.ContextWithSpanContext(ctx, sc)
	fmt.Fprintln(stdout, "-- trace ids come from the context: Info has none, InfoContext has them")
	logger.Info("charged", "amount_cents", 1250)
	logger.InfoContext(ctx, "charged", "amount_cents", 1250)

	fmt.Fprintln(stdout, "-- secrets: a LogValuer type, and ReplaceAttr by key for plain strings")
	logger.InfoContext(ctx, "login", "user", "alice", "password", Secret("hunter2"))
	logger.InfoContext(ctx, "login", "user", "alice", "token", "hunter2")

	fmt.Fprintln(stdout, "-- the JSON handler does not de-duplicate keys")
	logger.With("user", "alice").Info("renamed", "user", "bob")

	// LogAttrs takes typed Attrs: no []any boxing, no key/value pairing at
	// run time. Use it where a line is logged per request or per item.
	fmt.Fprintln(stdout, "-- LogAttrs on a hot path, and the same record from the text handler")
	logger.LogAttrs(ctx, slog.LevelInfo, "batch", slog.Int("items", 3),
		slog.Duration("took", 1500*time.Microsecond))
	text := slog.New(newTraceHandler(slog.NewTextHandler(stdout, opts)))
	text.LogAttrs(ctx, slog.LevelInfo, "batch", slog.Int("items", 3),
		slog.Duration("took", 1500*time.Microsecond), slog.Any("password", Secret("hunter2")))
	return nil
}

// redactKeys masks attributes whose key names a credential, whatever their
// type and spelling (Password, Authorization, API_KEY): the net under values
// that are plain strings, not Secret. slog calls it for attributes inside
// groups too, but not for fields of a struct or map value: those need Secret.
func redactKeys(_ []string, a slog.Attr) slog.Attr {
	switch strings.ToLower(a.Key) {
	case "password", "token", "authorization", "api_key":
		return slog.String(a.Key, mask)
	}
	return a
}

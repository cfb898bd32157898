package main

// The loggers of 4.5 side by side, in the four cases of zap's README:
// a static message, a message with 10 fields, 10 fields already on the
// logger, and a disabled level. Every logger writes JSON with a timestamp
// to io.Discard and runs under b.RunParallel, as zap's own benchmarks do.
// Run: go test -run '^$' -bench . -benchmem ./05-observability/02-zap

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

var (
	errExample = errors.New("fail")
	tenTime    = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
)

func zapCore() zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zap.InfoLevel)
}

func slogJSON() *slog.Logger  { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
func slogOnZap() *slog.Logger { return slog.New(zapslog.NewHandler(zapCore())) }
func zerologLogger() zerolog.Logger {
	return zerolog.New(io.Discard).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}
func slogOnZerolog() *slog.Logger { return slog.New(zerolog.NewSlogHandler(zerologLogger())) }

func slogAttrs() []slog.Attr {
	return []slog.Attr{slog.Int("int", 1), slog.Int64("int64", 1<<40), slog.Float64("float", 3.14),
		slog.String("string", "four!"), slog.Bool("bool", true), slog.Time("time", tenTime),
		slog.Duration("duration", time.Second), slog.Any("error", errExample),
		slog.String("another_string", "done!"), slog.Int("another_int", 42)}
}

func slogArgs() []any {
	return []any{"int", 1, "int64", int64(1 << 40), "float", 3.14, "string", "four!", "bool", true,
		"time", tenTime, "duration", time.Second, "error", errExample, "another_string", "done!", "another_int", 42}
}

func zapFields() []zap.Field {
	return []zap.Field{zap.Int("int", 1), zap.Int64("int64", 1<<40), zap.Float64("float", 3.14),
		zap.String("string", "four!"), zap.Bool("bool", true), zap.Time("time", tenTime),
		zap.Duration("duration", time.Second), zap.Error(errExample),
		zap.String("another_string", "done!"), zap.Int("another_int", 42)}
}

func zerologFields(e *zerolog.Event) *zerolog.Event {
	return e.Int("int", 1).Int64("int64", 1<<40).Float64("float", 3.14).Str("string", "four!").
		Bool("bool", true).Time("time", tenTime).Dur("duration", time.Second).Err(errExample).
		Str("another_string", "done!").Int("another_int", 42)
}

func zerologContext(c zerolog.Context) zerolog.Context {
	return c.Int("int", 1).Int64("int64", 1<<40).Float64("float", 3.14).Str("string", "four!").
		Bool("bool", true).Time("time", tenTime).Dur("duration", time.Second).Err(errExample).
		Str("another_string", "done!").Int("another_int", 42)
}

func parallel(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f()
		}
	})
}

const msg = "Go fast."

func BenchmarkStatic(b *testing.B) {
	ctx := context.Background()
	b.Run("slog", func(b *testing.B) { l := slogJSON(); parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg) }) })
	b.Run("zap", func(b *testing.B) { l := zap.New(zapCore()); parallel(b, func() { l.Info(msg) }) })
	b.Run("zap-sugar", func(b *testing.B) { l := zap.New(zapCore()).Sugar(); parallel(b, func() { l.Info(msg) }) })
	b.Run("zerolog", func(b *testing.B) { l := zerologLogger(); parallel(b, func() { l.Info().Msg(msg) }) })
	b.Run("slog-on-zap", func(b *testing.B) { l := slogOnZap(); parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg) }) })
	b.Run("slog-on-zerolog", func(b *testing.B) {
		l := slogOnZerolog()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg) })
	})
}

func BenchmarkTenFields(b *testing.B) {
	ctx := context.Background()
	b.Run("slog", func(b *testing.B) {
		l := slogJSON()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg, slogAttrs()...) })
	})
	b.Run("slog-kv", func(b *testing.B) { l := slogJSON(); parallel(b, func() { l.Info(msg, slogArgs()...) }) })
	b.Run("zap", func(b *testing.B) { l := zap.New(zapCore()); parallel(b, func() { l.Info(msg, zapFields()...) }) })
	b.Run("zap-sugar", func(b *testing.B) {
		l := zap.New(zapCore()).Sugar()
		parallel(b, func() { l.Infow(msg, slogArgs()...) })
	})
	b.Run("zerolog", func(b *testing.B) { l := zerologLogger(); parallel(b, func() { zerologFields(l.Info()).Msg(msg) }) })
	b.Run("slog-on-zap", func(b *testing.B) {
		l := slogOnZap()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg, slogAttrs()...) })
	})
	b.Run("slog-on-zerolog", func(b *testing.B) {
		l := slogOnZerolog()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg, slogAttrs()...) })
	})
}

func BenchmarkTenContext(b *testing.B) {
	ctx := context.Background()
	b.Run("slog", func(b *testing.B) {
		l := slogJSON().With(slogArgs()...)
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg) })
	})
	b.Run("zap", func(b *testing.B) { l := zap.New(zapCore()).With(zapFields()...); parallel(b, func() { l.Info(msg) }) })
	b.Run("zap-sugar", func(b *testing.B) {
		l := zap.New(zapCore()).Sugar().With(slogArgs()...)
		parallel(b, func() { l.Info(msg) })
	})
	b.Run("zerolog", func(b *testing.B) {
		l := zerologContext(zerologLogger().With()).Logger()
		parallel(b, func() { l.Info().Msg(msg) })
	})
	b.Run("slog-on-zap", func(b *testing.B) {
		l := slogOnZap().With(slogArgs()...)
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg) })
	})
	b.Run("slog-on-zerolog", func(b *testing.B) {
		l := slogOnZerolog().With(slogArgs()...)
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelInfo, msg) })
	})
}

// A Debug line at Info level, with 10 fields: what a disabled line costs.
func BenchmarkDisabled(b *testing.B) {
	ctx := context.Background()
	b.Run("slog", func(b *testing.B) {
		l := slogJSON()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelDebug, msg, slogAttrs()...) })
	})
	b.Run("zap", func(b *testing.B) { l := zap.New(zapCore()); parallel(b, func() { l.Debug(msg, zapFields()...) }) })
	b.Run("zap-check", func(b *testing.B) {
		l := zap.New(zapCore())
		parallel(b, func() {
			if ce := l.Check(zap.DebugLevel, msg); ce != nil {
				ce.Write(zapFields()...)
			}
		})
	})
	b.Run("zap-sugar", func(b *testing.B) {
		l := zap.New(zapCore()).Sugar()
		parallel(b, func() { l.Debugw(msg, slogArgs()...) })
	})
	b.Run("zerolog", func(b *testing.B) { l := zerologLogger(); parallel(b, func() { zerologFields(l.Debug()).Msg(msg) }) })
	b.Run("slog-on-zap", func(b *testing.B) {
		l := slogOnZap()
		parallel(b, func() { l.LogAttrs(ctx, slog.LevelDebug, msg, slogAttrs()...) })
	})
}

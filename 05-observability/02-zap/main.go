// Command 02-zap shows zap configured for production: JSON to stdout,
// typed fields on Logger, the SugaredLogger's looser API, an AtomicLevel,
// sampling that drops repeated lines (and counts them), secrets masked,
// and zap behind log/slog (zapslog) for libraries that take a *slog.Logger.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("02-zap", flag.ContinueOnError)
	fs.SetOutput(stdout)
	withTime := fs.Bool("time", true, "print the ts field (off for comparable output)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	// zap.NewProductionConfig().Build() is the same encoder with caller,
	// stack traces and sampling on, writing to stderr. Built by hand here
	// to write to stdout and show each part.
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	if !*withTime {
		enc.TimeKey = "" // an empty key omits the field
	}
	level := zap.NewAtomicLevelAt(zap.InfoLevel) // also an http.Handler: GET/PUT /level
	out := zapcore.Lock(zapcore.AddSync(stdout))
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), out, level)
	logger := zap.New(core)
	// Sync flushes buffered output. On a terminal or pipe fsync fails with
	// EINVAL (or ENOTTY): nothing was lost, so only other errors count.
	defer func() {
		if serr := logger.Sync(); serr != nil && !errors.Is(serr, syscall.EINVAL) && !errors.Is(serr, syscall.ENOTTY) {
			err = errors.Join(err, fmt.Errorf("sync log: %w", serr))
		}
	}()

	fmt.Fprintln(stdout, "-- Logger: typed fields, no reflection, no allocation per field")
	logger.Info("request", zap.String("method", "GET"), zap.Int("status", 200),
		zap.Duration("took", 1500*time.Microsecond))
	fmt.Fprintln(stdout, "-- SugaredLogger: key-value pairs and printf, slower")
	sugar := logger.Sugar()
	sugar.Infow("request", "method", "GET", "status", 200)
	sugar.Infof("served %d requests", 3)

	fmt.Fprintln(stdout, "-- AtomicLevel: Debug dropped, then printed after SetLevel(Debug)")
	logger.Debug("cache miss", zap.String("key", "user:42"))
	level.SetLevel(zap.DebugLevel)
	logger.Debug("cache miss", zap.String("key", "user:42"))
	level.SetLevel(zap.InfoLevel)

	fmt.Fprintln(stdout, "-- With: fields encoded once; a Secret prints as the mask")
	logger.With(zap.String("service", "orders")).
		Info("login", zap.String("user", "alice"), zap.Stringer("password", Secret("hunter2")))

	// Sampling: per level and message, the first N per tick pass, then
	// every Mth. The production config uses 100 and 100 per second; here
	// 2 and 3 per minute so ten identical lines show it.
	fmt.Fprintln(stdout, "-- sampling: 10 identical lines, first 2 then every 3rd")
	var dropped atomic.Int64
	sampled := zap.New(zapcore.NewSamplerWithOptions(core, time.Minute, 2, 3,
		zapcore.SamplerHook(func(_ zapcore.Entry, d zapcore.SamplingDecision) {
			if d&zapcore.LogDropped != 0 {
				dropped.Add(1)
			}
		})))
	for i := range 10 {
		sampled.Warn("queue full", zap.Int("attempt", i+1))
	}
	fmt.Fprintf(stdout, "sampling dropped %d lines\n", dropped.Load())

	// A library that takes *slog.Logger writes through zap's core.
	fmt.Fprintln(stdout, "-- zapslog: the slog API, zap's encoder and level")
	slogger := slog.New(zapslog.NewHandler(core))
	slogger.InfoContext(ctx, "from a library", "user", "alice", "password", Secret("hunter2"))
	slogger.Debug("not printed: zap's level is info")
	return nil
}

// Secret is a string that logs as the mask, through zap (Stringer) and
// through slog (LogValuer).
type Secret string

const mask = "[REDACTED]"

func (Secret) String() string               { return mask }
func (Secret) GoString() string             { return mask }
func (Secret) LogValue() slog.Value         { return slog.StringValue(mask) }
func (Secret) MarshalText() ([]byte, error) { return []byte(mask), nil }

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-time=false"}, &out); err != nil {
		t.Fatal(err)
	}
	testkit.CheckReadme(t, 0, out.String())
	if strings.Contains(out.String(), "hunter2") {
		t.Error("secret in the output")
	}
}

func TestRun_TimeByDefault(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, &out); err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(out.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["ts"] == nil {
			t.Errorf("no ts in %s", line)
		}
	}
}

func TestRun_RejectsUnknownFlag(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-nope"}, &out); err == nil || err.Error() != "flag provided but not defined: -nope" {
		t.Errorf("err = %v", err)
	}
}

// Sync on a pipe or terminal fails with EINVAL although nothing was lost;
// run ignores exactly that and still reports other errors.
func TestSync_PipeEINVAL(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { _, _ = bufio.NewReader(r).WriteTo(new(bytes.Buffer)) }() // drain
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zap.InfoLevel))
	logger.Info("x")
	if err := logger.Sync(); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Sync on a pipe = %v, want EINVAL", err)
	}
	if err := run(t.Context(), []string{"-time=false"}, w); err != nil {
		t.Errorf("run on a pipe: %v", err)
	}
	w.Close()
	// A closed file is a real error and is reported.
	if err := run(t.Context(), []string{"-time=false"}, w); err == nil || !strings.Contains(err.Error(), "sync log") {
		t.Errorf("run on a closed file: %v, want a sync log error", err)
	}
}

// The production config samples: 300 identical lines in a burst do not
// all reach the file, and the hook counts what was dropped.
func TestProductionConfig_Samples(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log.json")
	cfg := zap.NewProductionConfig()
	if cfg.Sampling == nil || cfg.Sampling.Initial != 100 || cfg.Sampling.Thereafter != 100 {
		t.Fatalf("production sampling = %+v", cfg.Sampling)
	}
	var dropped atomic.Int64
	cfg.Sampling.Hook = func(_ zapcore.Entry, d zapcore.SamplingDecision) {
		if d&zapcore.LogDropped != 0 {
			dropped.Add(1)
		}
	}
	cfg.OutputPaths = []string{path}
	logger, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		logger.Info("same message")
	}
	_ = logger.Sync()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := int64(strings.Count(string(data), "\n"))
	if lines >= 300 || dropped.Load() == 0 || lines+dropped.Load() != 300 {
		t.Errorf("%d lines written, %d dropped: want fewer than 300, the rest counted", lines, dropped.Load())
	}
}

// The secret is masked through every zap API and through zapslog.
func TestSecret_NeverLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zap.DebugLevel)
	logger := zap.New(core)
	s := Secret("hunter2")
	logger.Info("a", zap.Stringer("p", s), zap.Any("q", s))
	logger.Sugar().Infow("b", "p", s)
	logger.Sugar().Infof("c %v %s %+v %#v", s, s, s, s)
	slog.New(zapslog.NewHandler(core)).Info("d", "p", s, slog.Group("g", "p", s))
	fmt.Fprintf(&buf, "%v\n", fmt.Errorf("connect: %v", s))
	b, err := json.Marshal(map[string]Secret{"p": s})
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(b)
	// LogValue makes it a plain string before any slog handler sees it.
	if v := slog.AnyValue(s).Resolve(); v.Kind() != slog.KindString {
		t.Errorf("resolved kind %v, want String", v.Kind())
	}
	if strings.Contains(buf.String(), "hunter2") || strings.Count(buf.String(), mask) != 11 {
		t.Errorf("secret leaked or mask missing:\n%s", buf.String())
	}
}

// zapslog honours zap's level and writes zap's JSON.
func TestZapslog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	level := zap.NewAtomicLevelAt(zap.InfoLevel)
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = ""
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(&buf), level)
	l := slog.New(zapslog.NewHandler(core))
	l.Debug("hidden")
	l.With("service", "orders").WithGroup("http").Info("req", "status", 200)
	level.SetLevel(zap.DebugLevel)
	l.Debug("shown")
	want := `{"level":"info","msg":"req","service":"orders","http":{"status":200}}
{"level":"debug","msg":"shown"}
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"
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
		if json.Unmarshal([]byte(line), &m) == nil && m["time"] == nil {
			t.Errorf("no time in %s", line)
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

// An event is written by Msg, Msgf or Send; without one nothing is.
func TestEventWithoutMsg(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := zerolog.New(&buf)
	logger.Info().Str("order", "42") //nolint:zerologlint // the pitfall
	if buf.Len() != 0 {
		t.Fatalf("wrote %q without Msg", buf.String())
	}
	logger.Info().Str("order", "42").Send()
	if buf.String() != `{"level":"info","order":"42"}`+"\n" {
		t.Errorf("Send wrote %q", buf.String())
	}
}

// The hook adds the ids from the event's context, and only from it.
func TestTraceHook(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := zerolog.New(&buf).Hook(traceHook{})
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}})
	ctx := trace.ContextWithSpanContext(t.Context(), sc)
	logger.Info().Msg("no ctx")
	logger.Info().Ctx(ctx).Msg("ctx")
	slog.New(zerolog.NewSlogHandler(logger)).InfoContext(ctx, "slog")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || strings.Contains(lines[0], "trace_id") ||
		!strings.Contains(lines[1], `"trace_id":"01000000000000000000000000000000","span_id":"0200000000000000"`) ||
		!strings.Contains(lines[2], `"trace_id":"01000000000000000000000000000000"`) {
		t.Errorf("lines:\n%s", buf.String())
	}
}

// The secret is masked through zerolog's fields and its slog handler.
func TestSecret_NeverLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := zerolog.New(&buf)
	s := Secret("hunter2")
	logger.Info().Stringer("p", s).Interface("q", s).Any("r", s).Msgf("%v %s %+v %#v", s, s, s, s)
	slog.New(zerolog.NewSlogHandler(logger)).Info("slog", "p", s, slog.Group("g", "p", s))
	fmt.Fprintf(&buf, "%v\n", fmt.Errorf("connect: %v", s))
	if strings.Contains(buf.String(), "hunter2") || strings.Count(buf.String(), mask) != 10 {
		t.Errorf("secret leaked or mask missing:\n%s", buf.String())
	}
	if v := slog.AnyValue(s).Resolve(); v.Kind() != slog.KindString {
		t.Errorf("resolved kind %v, want String", v.Kind())
	}
}

// zerolog's slog handler passes the standard library's suite except for
// groups: it flattens them into dotted keys ("http.status") where slog's
// JSON handler nests objects. Dashboards that read nested fields break
// when a service swaps one handler for the other.
func TestSlogHandler_Conformance(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	err := slogtest.TestHandler(zerolog.NewSlogHandler(zerolog.New(&buf)), func() []map[string]any {
		var ms []map[string]any
		for line := range strings.Lines(buf.String()) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			m[slog.MessageKey] = m[zerolog.MessageFieldName]
			ms = append(ms, m)
		}
		return ms
	})
	if err == nil {
		t.Fatal("zerolog's handler now nests groups: update the README")
	}
	for _, e := range strings.Split(err.Error(), "\n") {
		if !strings.Contains(e, `missing group "G"`) && !strings.Contains(e, `missing key "a"`) {
			t.Errorf("a failure that is not about groups: %s", e)
		}
	}
	buf.Reset()
	slog.New(zerolog.NewSlogHandler(zerolog.New(&buf))).WithGroup("http").Info("req", "status", 200)
	if !strings.HasPrefix(buf.String(), `{"level":"info","http.status":200,`) {
		t.Errorf("got %s, want the flattened key http.status", buf.String())
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-time=false"}, testkit.Getenv(t, map[string]string{"LOG_LEVEL": ""}), &out); err != nil {
		t.Fatal(err)
	}
	testkit.CheckReadme(t, 0, out.String())
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("the secret reached the output:\n%s", out.String())
	}
}

// Every JSON line carries the time unless -time=false drops it.
func TestRun_TimeByDefault(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{"LOG_LEVEL": ""}), &out); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m["time"])); err != nil {
			t.Errorf("no time in %s", line)
		}
	}
}

func TestRun_LevelFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level, want string
		debugLines  int
	}{
		{"debug", "", 2}, {"DEBUG", "", 2}, {"info", "", 1}, {"warn", "", 0},
		{"verbose", `LOG_LEVEL: slog: level string "verbose": unknown name`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), []string{"-time=false"}, testkit.Getenv(t, map[string]string{"LOG_LEVEL": tt.level}), &out)
			if tt.want != "" {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("err = %v, want %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// At warn, level.Set(Debug) still shows the second Debug line.
			if n := strings.Count(out.String(), `"msg":"cache miss"`); n != max(tt.debugLines, 1) {
				t.Errorf("LOG_LEVEL=%s: %d debug lines, want %d:\n%s", tt.level, n, max(tt.debugLines, 1), out.String())
			}
		})
	}
}

// The handler passes the standard library's conformance suite, and adds
// the ids only when the context has a span.
func TestTraceHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf.Reset()
		return newTraceHandler(slog.NewJSONHandler(&buf, nil))
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// Credential keys are masked whatever their case, in groups too.
func TestRedactKeys_CaseInsensitive(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: redactKeys}))
	l.Info("req", "Authorization", "Bearer tok-1", "Password", "pw-2", "API_KEY", "key-3",
		slog.Group("db", "PASSWORD", "pw-4"), "token", "tok-5")
	for _, s := range []string{"tok-1", "pw-2", "key-3", "pw-4", "tok-5"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("%s leaked: %s", s, buf.String())
		}
	}
	if n := strings.Count(buf.String(), mask); n != 5 {
		t.Errorf("%d masks, want 5: %s", n, buf.String())
	}
}

// A Secret shows as the mask in every format a log line, an error or a
// JSON body can take.
func TestSecret_NeverPrinted(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		slog.New(h).Info("login", "password", s, slog.Group("db", "password", s))
	}
	fmt.Fprintf(&buf, "%v %+v %#v %s %q\n", s, s, s, s, s)
	fmt.Fprintf(&buf, "%v\n", fmt.Errorf("connect: %v", s))
	b, err := json.Marshal(struct{ Password Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(b)
	if strings.Contains(buf.String(), "hunter2") || strings.Count(buf.String(), mask) != 11 {
		t.Errorf("secret leaked or mask missing:\n%s", buf.String())
	}
	// LogValue turns it into a plain string before any handler sees it,
	// so a handler that ignores TextMarshaler (zapslog, a custom one) cannot leak it.
	if v := slog.AnyValue(s).Resolve(); v.Kind() != slog.KindString || v.String() != mask {
		t.Errorf("resolved value = %v (%v), want the string %s", v, v.Kind(), mask)
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

// Wrapping slog.Default().Handler() and passing it to slog.SetDefault
// deadlocks on the first line: the default handler writes through the log
// package, which SetDefault has just pointed at the new handler. A handler
// built on its own writer does not. Each case runs in a child process.
func TestSetDefault(t *testing.T) {
	t.Parallel()
	for name, wantDone := range map[string]bool{"wraps_default": false, "own_writer": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A deadlocked child never finishes: it is stopped after a few
			// seconds. A child that works finishes well within the minute.
			wait := time.Minute
			if !wantDone {
				wait = 3 * time.Second
			}
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSetDefaultChild$")
			cmd.Env = append(os.Environ(), "SLOG_CHILD="+name)
			out, _ := cmd.CombinedOutput()
			started, done := strings.Contains(string(out), "child started"), strings.Contains(string(out), "child done")
			if !started || done != wantDone {
				t.Errorf("%s: finished=%v, want %v:\n%s", name, done, wantDone, out)
			}
		})
	}
}

func TestSetDefaultChild(t *testing.T) {
	var h slog.Handler
	switch os.Getenv("SLOG_CHILD") {
	case "wraps_default":
		h = newTraceHandler(slog.Default().Handler())
	case "own_writer":
		h = newTraceHandler(slog.NewJSONHandler(os.Stderr, nil))
	default:
		t.Skip("run by TestSetDefault in a child process")
	}
	slog.SetDefault(slog.New(h))
	fmt.Println("child started")
	slog.Info("via slog")
	log.Print("via log")
	fmt.Println("child done")
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"

	"github.com/spf13/pflag"
)

const secret = "s3cret-value"

// writeFile replaces path atomically (write a temp file, rename), the way
// a ConfigMap update or a careful deploy does.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// setup writes a secret file and a config file naming it, and returns the
// config path.
func setup(t *testing.T, yaml string) string {
	t.Helper()
	testkit.UnsetPrefix(t, "APP_")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "db-password"), secret)
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, strings.ReplaceAll(yaml, "$DIR", dir))
	return path
}

const baseYAML = `http:
  port: 8080
  read-timeout: 5s
db:
  url: postgres://app@localhost:5432/app
  password-file: $DIR/db-password
allowed-origins: [https://example.com]
`

func TestRun_precedence_flag_over_env_over_file_over_default(t *testing.T) {
	path := setup(t, baseYAML)
	t.Setenv("APP_HTTP_PORT", "9090")                    // env over file
	t.Setenv("APP_LOG_LEVEL", "warn")                    // env over default
	t.Setenv("APP_DB_URL", "postgres://app@db:5432/app") // env for a key with no default
	var out bytes.Buffer
	args := []string{"--config", path, "--watch=false", "--log-level=debug"} // flag over env
	if err := run(t.Context(), args, &out); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := fmt.Sprintf(`level=INFO msg="config loaded" file=%s config="{HTTP:{Port:9090 `+
		`ReadTimeout:5s WriteTimeout:10s} DB:{URL:postgres://app@db:5432/app `+
		`PasswordFile:%s/db-password Password:[REDACTED]} AllowedOrigins:[https://example.com] `+
		`LogLevel:DEBUG Beta:false}"`+"\n", path, dir)
	if got := out.String(); got != want {
		t.Errorf("output:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(out.String(), secret) {
		t.Error("output shows the secret")
	}
}

func TestLoad_reads_the_secret_file(t *testing.T) {
	path := setup(t, baseYAML)
	cfg, err := load(path, pflag.NewFlagSet("keys", pflag.ContinueOnError))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB.Password != secret {
		t.Errorf("password = %q, want the file's content", string(cfg.DB.Password))
	}
}

func TestRun_rejects_bad_input(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string // every line must appear in the error
	}{
		{"rejects_port_abc", baseYAML, map[string]string{"APP_HTTP_PORT": "abc"},
			[]string{`'http.port' "abc" is not an integer`}},
		{"rejects_timeout_without_unit", baseYAML, map[string]string{"APP_HTTP_READ_TIMEOUT": "5"},
			[]string{`'http.read-timeout' "5" is not a duration`}},
		{"rejects_timeout_without_unit_in_yaml", strings.Replace(baseYAML, "read-timeout: 5s", "read-timeout: 5", 1), nil,
			[]string{"http.read-timeout: 5ns is under 1ms (a number without a unit?)"}},
		{"rejects_unknown_log_level", baseYAML, map[string]string{"APP_LOG_LEVEL": "verbose"},
			[]string{`'log-level' "verbose" is not a log level`}},
		{"rejects_missing_db_url", strings.Replace(baseYAML, "  url: postgres://app@localhost:5432/app\n", "", 1), nil,
			[]string{"db.url: required"}},
		{"rejects_unreadable_secret_file", baseYAML, map[string]string{"APP_DB_PASSWORD_FILE": "/nonexistent/db-password"},
			[]string{"db.password-file: open /nonexistent/db-password: no such file or directory"}},
		{"rejects_malformed_yaml", "http: [port: 8080\n", nil,
			[]string{"read ", "While parsing config: yaml: line"}},
		{"rejects_unknown_key", baseYAML + "htpp:\n  port: 1\n", nil,
			[]string{"has invalid keys: htpp"}},
		{"reports_decode_problems_together", baseYAML,
			map[string]string{"APP_HTTP_PORT": "abc", "APP_HTTP_WRITE_TIMEOUT": "10", "APP_BETA": "maybe"},
			[]string{`'http.port' "abc"`, `'http.write-timeout' "10"`, `'beta' "maybe"`}},
		{"reports_validation_problems_together", baseYAML,
			map[string]string{"APP_HTTP_PORT": "70000", "APP_DB_URL": "postgres://app:" + secret + "@db/app",
				"APP_ALLOWED_ORIGINS": "https://ok.example,example.com/path"},
			[]string{"http.port: 70000 is out of range", "db.url: carries a password",
				`allowed-origins: "example.com/path" is not scheme://host[:port]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := setup(t, tt.yaml)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out bytes.Buffer
			err := run(t.Context(), []string{"--config", path, "--watch=false"}, &out)
			if err == nil {
				t.Fatalf("no error; output %s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %v", err)
			}
			if out.Len() != 0 {
				t.Errorf("a rejected config was logged as loaded: %s", out.String())
			}
		})
	}
}

// waitFor waits until out contains s.
func waitFor(t *testing.T, out *testkit.Buffer, s string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), s) {
			return fmt.Errorf("no %q in output:\n%s", s, out.String())
		}
		return nil
	})
}

func TestWatchFile_reloads_live_fields_and_keeps_the_last_good_config(t *testing.T) {
	path := setup(t, baseYAML)
	flags := pflag.NewFlagSet("keys", pflag.ContinueOnError)
	first, err := load(path, flags)
	if err != nil {
		t.Fatal(err)
	}
	var live atomic.Pointer[Config]
	live.Store(first)
	consumer := featureHandler(&live)
	serve := func() string {
		rec := httptest.NewRecorder()
		consumer.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Body.String()
	}

	out := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- watchFile(ctx, log, path, flags, &live) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	waitFor(t, out, `msg="watching for changes"`)

	dir := filepath.Dir(path)
	edit := func(old, new string) string {
		return strings.ReplaceAll(strings.Replace(baseYAML, old, new, 1), "$DIR", dir)
	}
	nth := func(s string) int { return strings.Count(out.String(), s) }
	waitForNth := func(s string, n int) {
		t.Helper()
		testkit.Eventually(t, 10*time.Second, func() error {
			if nth(s) < n {
				return fmt.Errorf("%q seen %d times, want %d:\n%s", s, nth(s), n, out.String())
			}
			return nil
		})
	}
	const reloaded, rejected = `msg="config reloaded"`, `msg="config change rejected, keeping the current config"`

	// A live field: the consumer sees it on its next request.
	if got := serve(); got != "beta=false log-level=INFO\n" {
		t.Fatalf("consumer before the edit: %q", got)
	}
	writeFile(t, path, edit("allowed-origins:", "beta: true\nallowed-origins:"))
	waitForNth(reloaded, 1)
	if got := serve(); got != "beta=true log-level=INFO\n" {
		t.Errorf("consumer after a live edit: %q, want beta=true", got)
	}

	// The secret file is watched too: a rotated password goes live.
	writeFile(t, filepath.Join(dir, "db-password"), "rotated-value\n")
	waitForNth(reloaded, 2)
	if got := live.Load().DB.Password; got != "rotated-value" {
		t.Errorf("password after rotation = %q, want the new file's content", string(got))
	}

	// A restart-only field: rejected, the running config stays.
	writeFile(t, path, edit("port: 8080", "port: 8081\n  # moved")+"beta: true\n")
	waitForNth(rejected, 1)
	if !strings.Contains(out.String(), "needs a restart") || live.Load().HTTP.Port != 8080 {
		t.Errorf("port change: live port %d, log:\n%s", live.Load().HTTP.Port, out.String())
	}

	// A broken edit: rejected with the reason, the running config stays.
	writeFile(t, path, edit("allowed-origins:", "beta: true\nlog-level: loud\nallowed-origins:"))
	waitForNth(rejected, 2)
	if !strings.Contains(out.String(), `\"loud\" is not a log level`) || !live.Load().Beta {
		t.Errorf("broken edit: beta %t, log:\n%s", live.Load().Beta, out.String())
	}

	// The file removed, then written again: watching goes on.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitForNth(rejected, 3)
	writeFile(t, path, edit("allowed-origins:", "log-level: warn\nallowed-origins:"))
	waitForNth(reloaded, 3)
	if got := serve(); got != "beta=false log-level=WARN\n" {
		t.Errorf("consumer after the file came back: %q", got)
	}
}

func TestRun_help_prints_the_flags(t *testing.T) {
	testkit.UnsetPrefix(t, "APP_")
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--help"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--config", "--watch", "--http.port", "--log-level", "--beta"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("help lacks %s:\n%s", flag, out.String())
		}
	}
}

func TestRun_watches_until_the_context_ends(t *testing.T) {
	path := setup(t, baseYAML)
	out := &testkit.Buffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--config", path}, out) }()
	waitFor(t, out, `msg="watching for changes"`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `level=INFO msg="config loaded"`) ||
		lines[2] != `level=INFO msg="stopped watching"` {
		t.Errorf("output:\n%s", out.String())
	}
}

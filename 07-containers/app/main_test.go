package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// stackEnv is the getenv of a test: the stack's endpoints, a free port,
// a short drain, and overrides.
func stackEnv(t *testing.T, overrides map[string]string) func(string) string {
	t.Helper()
	env := map[string]string{
		"DATABASE_URL":                testkit.Require(t, testkit.Postgres),
		"REDIS_ADDR":                  testkit.Require(t, testkit.Redis),
		"OTEL_EXPORTER_OTLP_ENDPOINT": testkit.Require(t, testkit.OTLP),
		"HTTP_ADDR":                   "127.0.0.1:0",
		"SHUTDOWN_DELAY":              "1s",
		"DATABASE_PASSWORD_FILE":      "",
		"MEMORY_LIMIT":                "",
		"GOMEMLIMIT":                  "",
	}
	for k, v := range overrides {
		env[k] = v
	}
	return testkit.Getenv(t, env)
}

// The -once pass prints what the README shows, and has real effects: the
// row in PostgreSQL, the entry in Redis, the spans in Jaeger (flushed on
// exit), the cache counters on /metrics.
func TestOnce(t *testing.T) {
	service := testkit.Name(t)
	getenv := stackEnv(t, map[string]string{"OTEL_SERVICE_NAME": service, "HTTP_ADDR": ""})
	var out strings.Builder
	if err := run(t.Context(), []string{"-once"}, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, out.String())

	ctx := t.Context()
	conn, err := pgx.Connect(ctx, getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var name string
	if err := conn.QueryRow(ctx, "SELECT name FROM items WHERE id = 'demo'").Scan(&name); err != nil || name != "gopher" {
		t.Errorf("row demo: %q, %v", name, err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: getenv("REDIS_ADDR")})
	defer rdb.Close()
	if v, err := rdb.Get(ctx, "app:item:demo").Result(); err != nil || !strings.Contains(v, "gopher") {
		t.Errorf("cache entry: %q, %v", v, err)
	}

	// Spans reach Jaeger only if the provider was flushed before exit.
	jaeger := testkit.Require(t, testkit.JaegerQuery)
	testkit.Eventually(t, 15*time.Second, func() error {
		ops, err := jaegerOperations(ctx, jaeger, service)
		if err != nil {
			return err
		}
		for _, want := range []string{"GET /items/{id}", "PUT /items/{id}"} {
			if !strings.Contains(ops, want) {
				return fmt.Errorf("operations of %s: %s, want %s", service, ops, want)
			}
		}
		return nil
	})
}

func jaegerOperations(ctx context.Context, base, service string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		base+"/api/traces?limit=20&service="+url.QueryEscape(service), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Spans []struct {
				OperationName string `json:"operationName"`
			} `json:"spans"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", err
	}
	var ops []string
	for _, tr := range body.Data {
		for _, s := range tr.Spans {
			ops = append(ops, s.OperationName)
		}
	}
	return strings.Join(ops, ", "), nil
}

// Bad configuration stops the process at start with one line naming the
// variable, and never echoes a password.
func TestConfigErrors(t *testing.T) {
	const secret = "s3cr3t-Pa55w0rd"
	dir := t.TempDir()
	withNewline := filepath.Join(dir, "pw-newline")
	if err := os.WriteFile(withNewline, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"rejects_bad_database_url", map[string]string{"DATABASE_URL": "postgres://app:" + secret + "@db:bad/app"},
			`config: DATABASE_URL: invalid port ":bad" after host`},
		{"rejects_non_postgres_url", map[string]string{"DATABASE_URL": "mysql://app:" + secret + "@db:3306/app"},
			"config: DATABASE_URL: want postgres://user@host:port/db"},
		{"rejects_bad_duration", map[string]string{"SHUTDOWN_TIMEOUT": "20"},
			`config: SHUTDOWN_TIMEOUT: "20" is not a duration such as 5s or 1m`},
		{"rejects_negative_duration", map[string]string{"CACHE_TTL": "-1s"},
			`config: CACHE_TTL: "-1s" is not a duration such as 5s or 1m`},
		{"rejects_bad_http_addr", map[string]string{"HTTP_ADDR": "8080"},
			`config: HTTP_ADDR: "8080" is not host:port`},
		{"rejects_bad_redis_addr", map[string]string{"REDIS_ADDR": "redis"},
			`config: REDIS_ADDR: "redis" is not host:port`},
		{"rejects_bad_otlp_endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"},
			"config: OTEL_EXPORTER_OTLP_ENDPOINT: want http(s)://host:port"},
		{"rejects_bad_memory_limit", map[string]string{"MEMORY_LIMIT": "256Mi"},
			`config: MEMORY_LIMIT: "256Mi" is not a number of bytes`},
		{"rejects_missing_password_file", map[string]string{"DATABASE_PASSWORD_FILE": filepath.Join(dir, "none")},
			"config: DATABASE_PASSWORD_FILE: open " + filepath.Join(dir, "none") + ": no such file or directory"},
		{"rejects_password_file_with_newline", map[string]string{"DATABASE_PASSWORD_FILE": withNewline},
			"config: DATABASE_PASSWORD_FILE: the file has a line break (write it with printf, not echo)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := run(t.Context(), nil, testkit.Getenv(t, tt.env), &out)
			if err == nil {
				t.Fatalf("run: no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			for _, format := range []string{"%v", "%+v", "%#v"} {
				if s := fmt.Sprintf(format, err); strings.Contains(s, secret) {
					t.Errorf("%s of the error holds the password: %s", format, s)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout before the config was valid: %q", out.String())
			}
		})
	}
}

// The README's second pair: the first bad variable ends the process.
func TestReadmeBadConfig(t *testing.T) {
	var out strings.Builder
	err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{
		"DATABASE_URL": "postgres://app:s3cret@localhost:bad/app"}), &out)
	if err == nil {
		t.Fatal("run: no error")
	}
	testkit.CheckReadme(t, 1, out.String()+err.Error()+"\nexit status 1\n")
}

func TestRedacted(t *testing.T) {
	u, _ := url.Parse("postgres://app:s3cret@db:5432/app?sslmode=verify-full")
	if got, want := redacted(u), "postgres://app:[REDACTED]@db:5432/app?sslmode=verify-full"; got != want {
		t.Errorf("redacted: %s, want %s", got, want)
	}
}

// startApp runs the service in process until the test ends and returns
// its base URL.
func startApp(t *testing.T, getenv func(string) string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, getenv, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	var base string
	testkit.Eventually(t, 10*time.Second, func() error {
		sc := bufio.NewScanner(strings.NewReader(out.String()))
		for sc.Scan() {
			if _, addr, ok := strings.Cut(sc.Text(), "listening on "); ok {
				base = "http://" + addr
				return nil
			}
		}
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("run ended: %w", err)
		default:
			return errors.New("not listening yet")
		}
	})
	return base
}

func status(t *testing.T, u string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	code, body, err := get(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// A database that is down at start: live, not ready, no crash; once the
// database answers, ready without a restart. The healthcheck subcommand
// probes liveness only, so it passes throughout.
func TestReadyWhenDatabaseAppears(t *testing.T) {
	p, dsn := faultproxy.ForURL(t, testkit.Require(t, testkit.Postgres))
	p.Cut()
	getenv := stackEnv(t, map[string]string{"DATABASE_URL": dsn, "SHUTDOWN_DELAY": "0s"})
	base := startApp(t, getenv)

	if code, body := status(t, base+"/livez"); code != http.StatusOK {
		t.Errorf("/livez with the database down: %d %s", code, body)
	}
	code, body := status(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "not ready: postgres") {
		t.Errorf("/readyz with the database down: %d %s", code, body)
	}
	var out strings.Builder
	hc := testkit.Getenv(t, map[string]string{"HTTP_ADDR": strings.TrimPrefix(base, "http://")})
	if err := run(t.Context(), []string{"healthcheck"}, hc, &out); err != nil || out.String() != "livez: 200 ok\n" {
		t.Errorf("healthcheck: %q, %v", out.String(), err)
	}

	p.Restore(t)
	testkit.Eventually(t, 15*time.Second, func() error {
		if code, body := status(t, base+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
}

// A wrong password: the readiness body says why, and the secret from the
// file appears in no response and no log line.
func TestSecretNeverShown(t *testing.T) {
	const secret = "s3cr3t-Pa55w0rd"
	pw := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pw, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := stackEnv(t, map[string]string{"DATABASE_PASSWORD_FILE": pw, "SHUTDOWN_DELAY": "0s"})
	base := startApp(t, getenv)
	code, body := status(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "password authentication failed") {
		t.Errorf("/readyz with a wrong password: %d %s", code, body)
	}
	if strings.Contains(body, secret) {
		t.Errorf("/readyz shows the password: %s", body)
	}
}

func TestHealthcheckFailsWithoutServer(t *testing.T) {
	var out strings.Builder
	err := run(t.Context(), []string{"healthcheck"},
		testkit.Getenv(t, map[string]string{"HTTP_ADDR": "127.0.0.1:1"}), &out)
	if err == nil || !strings.HasPrefix(err.Error(), "healthcheck: GET http://127.0.0.1:1/livez") {
		t.Errorf("healthcheck without a server: %v", err)
	}
}

// Cache-aside: a write deletes the cached entry, so the next read sees the
// new value (a miss that refills the cache), never the stale one.
func TestPutInvalidatesCache(t *testing.T) {
	base := startApp(t, stackEnv(t, map[string]string{"SHUTDOWN_DELAY": "0s"}))
	testkit.Eventually(t, 10*time.Second, func() error {
		if code, body := status(t, base+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	item := base + "/items/" + testkit.Name(t)
	put := func(name string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, item,
			strings.NewReader(`{"name":"`+name+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT %s: %d", name, resp.StatusCode)
		}
	}
	get := func() string {
		resp, err := http.Get(item)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var it struct{ Name string }
		if err := json.NewDecoder(resp.Body).Decode(&it); err != nil {
			t.Fatal(err)
		}
		return it.Name + " " + resp.Header.Get("X-Cache")
	}
	put("first")
	for _, want := range []string{"first miss", "first hit"} {
		if got := get(); got != want {
			t.Errorf("GET: %q, want %q", got, want)
		}
	}
	put("second")
	if got := get(); got != "second miss" {
		t.Errorf("GET after PUT: %q, want %q (the stale entry must be gone)", got, "second miss")
	}
}

// Bad requests get a clear 4xx and write nothing.
func TestBadRequests(t *testing.T) {
	base := startApp(t, stackEnv(t, map[string]string{"SHUTDOWN_DELAY": "0s"}))
	testkit.Eventually(t, 10*time.Second, func() error {
		if code, body := status(t, base+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	id := testkit.Name(t)
	for _, body := range []string{`{"name":""}`, `not json`, `{"name":"x","extra":1}`} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, base+"/items/"+id, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", body, resp.StatusCode)
		}
	}
	if code, _ := status(t, base+"/items/"+id); code != http.StatusNotFound {
		t.Errorf("GET after rejected PUTs: %d, want 404 (nothing written)", code)
	}
}

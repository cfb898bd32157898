package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
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
			"config: DATABASE_URL: not a valid URL (percent-encode special characters in the password)"},
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

// A password with / # or ? makes url.Parse cut the authority inside it,
// and the parser's reason then quotes part of the password: the error is
// a fixed message.
func TestDatabaseURLSpecialPassword(t *testing.T) {
	for _, pw := range []string{"s3cr/et", "s3cr#et", "s3cr?et", "ab/cd#ef?gh", "1234/et", "12#et", "99?et"} {
		_, err := loadConfig(testkit.Getenv(t, map[string]string{
			"DATABASE_URL": "postgres://app:" + pw + "@db:5432/app"}))
		if err == nil {
			t.Errorf("password %q: no error", pw)
			continue
		}
		want := "DATABASE_URL: not a valid URL (percent-encode special characters in the password)"
		if err.Error() != want {
			t.Errorf("password %q: %v, want %s", pw, err, want)
		}
		// Every piece of the password, cut at its special character.
		testkit.NoSecret(t, err, append([]string{pw}, strings.FieldsFunc(pw, func(r rune) bool {
			return strings.ContainsRune("/#?", r)
		})...)...)
	}
}

// The README's second pair: the first bad variable ends the process.
func TestReadmeBadConfig(t *testing.T) {
	var out strings.Builder
	err := run(t.Context(), nil, testkit.Getenv(t, map[string]string{
		"DATABASE_URL": "postgres://app:s3cr/et@localhost:5432/app"}), &out)
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
	if code != http.StatusServiceUnavailable || body != "not ready" {
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

// newTestServer builds the service's parts as run does, with the JSON log
// in logw, and serves its handler until the test ends.
func newTestServer(t *testing.T, getenv func(string) string, logw io.Writer) (*server, string) {
	t.Helper()
	cfg, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	tel, err := newTelemetry(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tel.shutdown(io.Discard) })
	d, err := newDeps(cfg, tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.close)
	srv := newServer(cfg, d, tel, logw)
	ts := httptest.NewServer(srv.http.Handler)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// A wrong password: the reason goes to the log, the client gets a fixed
// body (a pgx error names the user, database and address), and the secret
// from the file appears in neither.
func TestSecretNeverShown(t *testing.T) {
	const secret = "s3cr3t-Pa55w0rd"
	pw := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pw, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := stackEnv(t, map[string]string{"DATABASE_PASSWORD_FILE": pw, "SHUTDOWN_DELAY": "0s"})
	logs := &testkit.Buffer{}
	_, base := newTestServer(t, getenv, logs)
	code, body := status(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || body != "not ready" {
		t.Errorf("/readyz with a wrong password: %d %q, want 503 \"not ready\"", code, body)
	}
	if !strings.Contains(logs.String(), "password authentication failed") {
		t.Errorf("the log does not say why: %s", logs.String())
	}
	u, _ := url.Parse(getenv("DATABASE_URL"))
	for _, s := range []string{secret, u.User.Username()} {
		if strings.Contains(body, s) {
			t.Errorf("/readyz shows %q: %s", s, body)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the password: %s", logs.String())
	}
}

// Redis down: reads degrade to the database, so the pod stays ready; the
// outage shows in redis_up and one log line.
func TestReadyWithoutRedis(t *testing.T) {
	p := faultproxy.New(t, testkit.Require(t, testkit.Redis))
	p.Cut()
	logs := &testkit.Buffer{}
	_, base := newTestServer(t, stackEnv(t, map[string]string{"REDIS_ADDR": p.Addr()}), logs)
	testkit.Eventually(t, 10*time.Second, func() error {
		if code, body := status(t, base+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz with Redis down: %d %s", code, body)
		}
		return nil
	})
	if got := redisUp(t, base); got != "0" {
		t.Errorf("redis_up with Redis down: %q, want 0", got)
	}
	if n := strings.Count(logs.String(), "redis unreachable"); n != 1 {
		t.Errorf("%d log lines about Redis, want 1:\n%s", n, logs.String())
	}
	p.Restore(t)
	testkit.Eventually(t, 10*time.Second, func() error {
		status(t, base+"/readyz")
		if got := redisUp(t, base); got != "1" {
			return fmt.Errorf("redis_up after Redis came back: %q", got)
		}
		return nil
	})
}

// redisUp is the value of the redis_up gauge on /metrics.
func redisUp(t *testing.T, base string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "redis_up "); ok {
			return v
		}
	}
	return ""
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
	// run sets the global propagator, so instrumented clients pass
	// traceparent on (the default global one is a no-op).
	if f := otel.GetTextMapPropagator().Fields(); !slices.Contains(f, "traceparent") {
		t.Errorf("global propagator fields %v, want traceparent", f)
	}
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

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
)

// buildApp builds this package as a binary, with the version stamped the
// way the Dockerfile does it.
func buildApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin,
		"-ldflags", "-X main.version=1.2.3-test -X main.commit=abc1234", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The SIGTERM sequence on a real process: /readyz turns 503 while the
// server still accepts, the listener then closes, a request that was in
// flight all along completes with its status, and the process exits 0
// well inside the grace period.
func TestSIGTERM(t *testing.T) {
	dsn := testkit.Require(t, testkit.Postgres)
	redisAddr := testkit.Require(t, testkit.Redis)
	otlp := testkit.Require(t, testkit.OTLP)
	jaeger := testkit.Require(t, testkit.JaegerQuery)
	bin := buildApp(t)
	service := testkit.Name(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "OTEL_SERVICE_NAME="+service,
		"HTTP_ADDR=127.0.0.1:0", "SHUTDOWN_DELAY=5s", "SHUTDOWN_TIMEOUT=10s",
		"DATABASE_URL="+dsn, "REDIS_ADDR="+redisAddr, "OTEL_EXPORTER_OTLP_ENDPOINT="+otlp,
		"DATABASE_PASSWORD_FILE=", "GOMEMLIMIT=", "MEMORY_LIMIT=268435456")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	first := <-lines
	// -ldflags -X stamped the version into the binary.
	if !strings.HasPrefix(first, "app 1.2.3-test (commit abc1234) listening on ") {
		t.Fatalf("first line: %q", first)
	}
	base := "http://" + strings.TrimPrefix(first, "app 1.2.3-test (commit abc1234) listening on ")
	testkit.Eventually(t, 10*time.Second, func() error {
		if code, body := status(t, base+"/readyz"); code != http.StatusOK {
			return fmt.Errorf("/readyz: %d %s", code, body)
		}
		return nil
	})
	checkMemoryLimit(t, base)

	// A slow client: the request body arrives in two parts, and the
	// second only after the listener has closed.
	id := testkit.Name(t)
	body, bodyW := io.Pipe()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, base+"/items/"+id, body)
	if err != nil {
		t.Fatal(err)
	}
	slow := make(chan int, 1) // the status code, 0 on error
	go func() {
		defer close(slow)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("slow request: %v", err)
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	if _, err := io.WriteString(bodyW, `{"name":`); err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	// New connections still work and see 503, so the endpoint controller
	// and every load balancer take the pod out before it stops listening.
	noKeepAlive := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	testkit.Eventually(t, 5*time.Second, func() error {
		resp, err := noKeepAlive.Get(base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz: %d", resp.StatusCode)
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, func() error {
		resp, err := noKeepAlive.Get(base + "/livez")
		if err == nil {
			resp.Body.Close()
			return errors.New("still accepting connections")
		}
		return nil
	})
	if _, err := io.WriteString(bodyW, `"slow"}`); err != nil {
		t.Fatal(err)
	}
	bodyW.Close()
	if code := <-slow; code != http.StatusNoContent {
		t.Fatalf("in-flight PUT: %d, want 204", code)
	}

	go func() { exited <- cmd.Wait() }()
	const grace = 40 * time.Second // terminationGracePeriodSeconds of k8s/base
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v, want status 0", err)
		}
	case <-time.After(grace - time.Since(sent)):
		t.Fatalf("still running %s after SIGTERM: the kubelet would SIGKILL it", grace)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	want := []string{"shutdown: /readyz answers 503, serving on for 5s",
		"shutdown: in-flight requests done, listener closed"}
	if strings.Join(rest, "\n") != strings.Join(want, "\n") {
		t.Errorf("output after SIGTERM:\n%s\nwant:\n%s", strings.Join(rest, "\n"), strings.Join(want, "\n"))
	}

	// The span of the in-flight request ended just before the exit; only
	// the flush on shutdown can have exported it.
	testkit.Eventually(t, 15*time.Second, func() error {
		ops, err := jaegerOperations(t.Context(), jaeger, service)
		if err != nil {
			return err
		}
		if !strings.Contains(ops, "PUT /items/{id}") {
			return fmt.Errorf("operations of %s: %q, want the in-flight PUT", service, ops)
		}
		return nil
	})

	// The in-flight write reached the database.
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var name string
	if err := conn.QueryRow(t.Context(), "SELECT name FROM items WHERE id = $1", id).Scan(&name); err != nil || name != "slow" {
		t.Errorf("row %s: %q, %v", id, name, err)
	}
}

// checkMemoryLimit reads GOMEMLIMIT back from /metrics: MEMORY_LIMIT (the
// container limit from the Downward API) minus 10% headroom.
func checkMemoryLimit(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_gomemlimit_bytes "); ok {
			got, err := strconv.ParseFloat(v, 64)
			if want := float64(268435456 / 10 * 9); err != nil || got != want {
				t.Errorf("go_gc_gomemlimit_bytes = %s, want %.0f", v, want)
			}
			return
		}
	}
	t.Errorf("no go_gc_gomemlimit_bytes on /metrics")
}

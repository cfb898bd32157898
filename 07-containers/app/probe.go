package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// healthcheck is `app healthcheck`: GET /livez on the local port, exit 0
// on 200. Docker's HEALTHCHECK runs it inside the container, where
// distroless has no curl or wget.
func healthcheck(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	_, port, err := net.SplitHostPort(cmp.Or(getenv("HTTP_ADDR"), ":8080"))
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	code, body, err := get(ctx, "http://"+net.JoinHostPort("127.0.0.1", port)+"/livez")
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("healthcheck: /livez %d %s", code, body)
	}
	fmt.Fprintf(stdout, "livez: %d %s\n", code, body)
	return nil
}

// exercise is the -once pass: what a load balancer and a client would see,
// then the shutdown sequence that SIGTERM starts.
func exercise(ctx context.Context, addr string, errc <-chan error, srv *server, stdout io.Writer) error {
	_, port, _ := net.SplitHostPort(addr)
	base := "http://" + net.JoinHostPort("127.0.0.1", port)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// Not ready until PostgreSQL and Redis answer: poll like a readiness probe.
	var code int
	var body string
	for code != http.StatusOK {
		var err error
		if code, body, err = get(ctx, base+"/readyz"); err != nil {
			return err
		}
		if code != http.StatusOK {
			select {
			case <-ctx.Done():
				return fmt.Errorf("never ready: %s", body)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	fmt.Fprintf(stdout, "GET /readyz: %d %s\n", code, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/items/demo",
		strings.NewReader(`{"name":"gopher"}`))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	resp.Body.Close()
	fmt.Fprintf(stdout, "PUT /items/demo: %d\n", resp.StatusCode)
	for range 2 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/items/demo", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("get: %w", err)
		}
		fmt.Fprintf(stdout, "GET /items/demo: %d %s (cache %s)\n",
			resp.StatusCode, strings.TrimSpace(string(b)), resp.Header.Get("X-Cache"))
	}
	if err := printMetrics(ctx, base, stdout); err != nil {
		return err
	}

	// The SIGTERM path, started in process: /readyz turns 503 at once.
	fmt.Fprintln(stdout, "SIGTERM")
	stdout = &lockedWriter{w: stdout} // shared with the shutdown goroutine
	done := make(chan error, 1)
	go func() { done <- srv.shutdown(stdout) }()
	for code == http.StatusOK {
		if code, body, err = get(ctx, base+"/readyz"); err != nil {
			return errors.Join(err, <-done)
		}
	}
	fmt.Fprintf(stdout, "GET /readyz: %d %s\n", code, body)
	select {
	case err := <-errc:
		return errors.Join(err, <-done)
	case err := <-done:
		return err
	}
}

func printMetrics(ctx context.Context, base string, stdout io.Writer) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "cache_requests_total{") {
			fmt.Fprintf(stdout, "metrics: %s\n", sc.Text())
		}
	}
	return sc.Err()
}

// get returns the status and the first line of the body.
func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return resp.StatusCode, line, err
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

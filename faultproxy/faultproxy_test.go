package faultproxy_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
)

// redisPing sends PING over a new connection to addr and returns the reply.
func redisPing(addr string, timeout time.Duration) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// pgSSLRequest sends PostgreSQL's SSLRequest and returns the one-byte
// answer: 'S' (TLS offered) or 'N'. It is a real protocol round trip that
// needs no client library.
func pgSSLRequest(addr string, timeout time.Duration) (byte, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	if _, err := conn.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	return b[0], nil
}

func TestRedisCutRestore(t *testing.T) {
	t.Parallel()
	p := faultproxy.New(t, testkit.Require(t, testkit.Redis))
	if got, err := redisPing(p.Addr(), 2*time.Second); err != nil || got != "+PONG" {
		t.Fatalf("through the proxy: %q, %v; want +PONG", got, err)
	}
	p.Cut()
	if _, err := redisPing(p.Addr(), time.Second); err == nil {
		t.Fatal("ping succeeded through a cut proxy")
	}
	p.Restore(t)
	if got, err := redisPing(p.Addr(), 2*time.Second); err != nil || got != "+PONG" {
		t.Fatalf("after Restore: %q, %v; want +PONG", got, err)
	}
}

func TestRedisLatency(t *testing.T) {
	t.Parallel()
	p := faultproxy.New(t, testkit.Require(t, testkit.Redis))
	remove := p.Latency(t, 300*time.Millisecond, 0)
	start := time.Now()
	if _, err := redisPing(p.Addr(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// A lower bound only: the toxic guarantees it, a busy machine cannot
	// break it.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("round trip took %s with a 300ms latency toxic", d)
	}
	remove()
	// With the toxic gone a short deadline is enough again.
	if _, err := redisPing(p.Addr(), 2*time.Second); err != nil {
		t.Fatalf("after removing latency: %v", err)
	}
}

func TestRedisBlackholeHangsUntilDeadline(t *testing.T) {
	t.Parallel()
	p := faultproxy.New(t, testkit.Require(t, testkit.Redis))
	remove := p.Blackhole(t)
	_, err := redisPing(p.Addr(), 300*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("through a blackhole: %v; want a timeout", err)
	}
	remove()
	if got, err := redisPing(p.Addr(), 2*time.Second); err != nil || got != "+PONG" {
		t.Fatalf("after removing the blackhole: %q, %v", got, err)
	}
}

func TestPostgresResetPeer(t *testing.T) {
	t.Parallel()
	addr, err := testkit.HostPort(testkit.Postgres, testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.New(t, addr)
	if b, err := pgSSLRequest(p.Addr(), 2*time.Second); err != nil || b != 'S' {
		t.Fatalf("SSLRequest through the proxy: %q, %v; want 'S'", b, err)
	}
	remove := p.ResetPeer(t, 0)
	if b, err := pgSSLRequest(p.Addr(), 2*time.Second); err == nil {
		t.Fatalf("SSLRequest answered %q through reset_peer", b)
	}
	remove()
	if b, err := pgSSLRequest(p.Addr(), 2*time.Second); err != nil || b != 'S' {
		t.Fatalf("after removing reset_peer: %q, %v", b, err)
	}
}

func TestPostgresForURL(t *testing.T) {
	t.Parallel()
	u := testkit.Require(t, testkit.Postgres)
	p, proxied := faultproxy.ForURL(t, u)
	if !strings.Contains(proxied, "@"+p.Addr()+"/") {
		t.Fatalf("ForURL did not point the URL at the proxy %s: %s", p.Addr(), testkit.Redact(proxied))
	}
	if b, err := pgSSLRequest(p.Addr(), 3*time.Second); err != nil || b != 'S' {
		t.Fatalf("SSLRequest through ForURL's proxy: %q, %v", b, err)
	}
}

// redisDo sends one RESP command over conn and reads a bulk or simple reply.
func redisDo(conn net.Conn, r *bufio.Reader, args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	head, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(head, "$") {
		return strings.TrimSpace(head), nil
	}
	var n int
	if _, err := fmt.Sscanf(head, "$%d", &n); err != nil || n < 0 {
		return "", fmt.Errorf("reply %q", head)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func TestRedisBandwidth(t *testing.T) {
	t.Parallel()
	addr := testkit.Require(t, testkit.Redis)
	key := testkit.Name(t)
	value := strings.Repeat("x", 32*1024)
	direct, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	dr := bufio.NewReader(direct)
	if got, err := redisDo(direct, dr, "SET", key, value, "EX", "60"); err != nil || got != "+OK" {
		t.Fatalf("SET: %q, %v", got, err)
	}

	p := faultproxy.New(t, addr)
	p.Bandwidth(t, 32) // 32 KB/s: the 32 KiB reply needs about a second
	conn, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := redisDo(conn, bufio.NewReader(conn), "GET", key)
	if err != nil || got != value {
		t.Fatalf("GET through the throttled proxy: %d bytes, %v", len(got), err)
	}
	// A lower bound the toxic guarantees (half the nominal time).
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("32 KiB at 32 KB/s arrived in %s: the bandwidth toxic is not applied", d)
	}
}

func TestForURLKeepsCredentialsOutOfFailures(t *testing.T) {
	t.Parallel()
	// A URL that does not parse must not be quoted back: it may hold a password.
	ft := &fatalRecorder{TB: t}
	func() {
		defer func() { _ = recover() }()
		faultproxy.ForURL(ft, "postgres://app:s3cret@[::1/app")
	}()
	if !ft.failed || strings.Contains(ft.msg, "s3cret") {
		t.Fatalf("ForURL on a bad URL: failed=%v msg=%q", ft.failed, ft.msg)
	}
}

// fatalRecorder captures Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}

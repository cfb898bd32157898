// Package testkit gives tests the stack's endpoints, a require-or-skip check
// for each service, and unique names for the objects a test creates.
//
// It uses the standard library only and is imported by tests, never by an
// example's main.go: an example must compile when copied out of this
// repository.
package testkit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Service names one endpoint of the stack contract by its environment
// variable (see README.md, "The stack").
type Service string

// The services of the stack contract.
const (
	Postgres      Service = "DATABASE_URL"
	PostgresAdmin Service = "DATABASE_ADMIN_URL"
	Replica       Service = "DATABASE_REPLICA_URL"
	PgBouncer     Service = "PGBOUNCER_URL"
	PostgresCA    Service = "PG_CA_CERT"
	Redis         Service = "REDIS_ADDR"
	Kafka         Service = "KAFKA_BROKERS"
	RabbitMQ      Service = "AMQP_URL"
	NATS          Service = "NATS_URL"
	OTLP          Service = "OTEL_EXPORTER_OTLP_ENDPOINT"
	JaegerQuery   Service = "JAEGER_QUERY_URL"
	Zipkin        Service = "ZIPKIN_ENDPOINT"
)

// Services lists every service of the contract in the order of the table.
func Services() []Service {
	return []Service{
		Postgres, PostgresAdmin, Replica, PgBouncer, PostgresCA, Redis,
		Kafka, RabbitMQ, NATS, OTLP, JaegerQuery, Zipkin,
	}
}

// RequiredEnv is the variable that turns a skip into a failure. Every
// `make test*` target and CI set it to 1.
const RequiredEnv = "INFRA_REQUIRED"

// dialTimeout bounds the reachability check: a missing service must give a
// one-line skip or failure, never a hang.
const dialTimeout = 2 * time.Second

// Default is the endpoint of s under Docker Compose, used when its variable
// is unset.
func Default(s Service) string {
	switch s {
	case Postgres:
		return "postgres://app:app@localhost:5432/app"
	case PostgresAdmin:
		return "postgres://postgres:postgres@localhost:5432/postgres"
	case Replica:
		return "postgres://app:app@localhost:5433/app"
	case PgBouncer:
		return "postgres://app:app@localhost:6432/app"
	case PostgresCA:
		return filepath.Join(RepoRoot(), ".stack", "certs", "ca.crt")
	case Redis:
		return "localhost:6379"
	case Kafka:
		return "localhost:9092"
	case RabbitMQ:
		return "amqp://guest:guest@localhost:5672/"
	case NATS:
		return "nats://localhost:4222"
	case OTLP:
		return "http://localhost:4318"
	case JaegerQuery:
		return "http://localhost:16686"
	case Zipkin:
		return "http://localhost:9411/api/v2/spans"
	}
	return ""
}

// Endpoint returns the value of s's variable, or its compose default.
func Endpoint(s Service) string {
	return cmp.Or(os.Getenv(string(s)), Default(s))
}

// Require checks that s answers and returns its endpoint. When it does not,
// the test is skipped with one line naming the variable and `make up`, or
// fails with that line when INFRA_REQUIRED=1. Under go test -short (make
// test-unit) it always skips: unit tests need no stack.
func Require(t testing.TB, s Service) string {
	t.Helper()
	return require(t, s, testing.Short())
}

func require(t testing.TB, s Service, short bool) string {
	t.Helper()
	ep := Endpoint(s)
	if short {
		t.Skipf("needs %s (a stack service); skipped under -short", s)
		return ep
	}
	if err := Reachable(t.Context(), s, ep); err != nil {
		msg := fmt.Sprintf("%s=%s unreachable — run make up (%v)", s, Redact(ep), err)
		if os.Getenv(RequiredEnv) == "1" {
			t.Fatal(msg)
		} else {
			t.Skip(msg)
		}
	}
	return ep
}

// Reachable reports whether endpoint ep of service s accepts a TCP
// connection (or, for the CA certificate, whether the file exists).
func Reachable(ctx context.Context, s Service, ep string) error {
	if s == PostgresCA {
		if _, err := os.Stat(ep); err != nil {
			return fmt.Errorf("read CA certificate: %w", err)
		}
		return nil
	}
	addr, err := HostPort(s, ep)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn.Close()
}

// HostPort extracts the first host:port from an endpoint of service s: a URL,
// a bare address, or a comma-separated broker list.
func HostPort(s Service, ep string) (string, error) {
	switch s {
	case Redis:
		return ep, nil
	case Kafka:
		first, _, _ := strings.Cut(ep, ",")
		return strings.TrimSpace(first), nil
	}
	u, err := url.Parse(ep)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", s, errors.Unwrap(err))
	}
	if u.Host == "" {
		return "", fmt.Errorf("parse %s: no host in %q", s, Redact(ep))
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	port := map[string]string{
		"postgres": "5432", "postgresql": "5432", "amqp": "5672",
		"amqps": "5671", "nats": "4222", "http": "80", "https": "443",
	}[u.Scheme]
	if port == "" {
		return "", fmt.Errorf("parse %s: no port in %q", s, Redact(ep))
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// Redact hides the password of a URL so an endpoint can be printed.
func Redact(ep string) string {
	u, err := url.Parse(ep)
	if err != nil || u.User == nil {
		return ep
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Name returns a unique lower-case identifier derived from t.Name(), for
// databases, topics, queues, streams and key prefixes. It is at most 48
// characters of [a-z0-9_], starts with a letter, and differs on every call,
// so tests run in parallel and again without cleanup races.
func Name(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t_")
	underscore := true
	for _, r := range strings.ToLower(t.Name()) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			underscore = false
		case !underscore:
			b.WriteByte('_')
			underscore = true
		}
	}
	base := strings.TrimRight(b.String(), "_")
	if len(base) > 39 {
		base = base[:39]
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		t.Fatalf("testkit.Name: %v", err)
	}
	return base + "_" + hex.EncodeToString(suffix[:])
}

// Getenv returns the getenv a test hands to an example's run: overrides
// first, then the process environment. A key mapped to "" in overrides reads
// as unset.
func Getenv(t testing.TB, overrides map[string]string) func(string) string {
	t.Helper()
	return func(key string) string {
		if v, ok := overrides[key]; ok {
			return v
		}
		return os.Getenv(key)
	}
}

// RepoRoot is the repository's top folder, found from this source file.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Dir(filepath.Dir(file))
}

// UnsetPrefix unsets, for the rest of the test, every environment variable
// whose name starts with prefix, so a developer's own settings cannot leak
// into a test of a config loader; they are restored afterwards. Like
// t.Setenv, it rules out t.Parallel.
func UnsetPrefix(t testing.TB, prefix string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, prefix) {
			t.Setenv(k, "") // registers the restore
			if err := os.Unsetenv(k); err != nil {
				t.Fatalf("unset %s: %v", k, err)
			}
		}
	}
}

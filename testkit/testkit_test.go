package testkit_test

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// recorder stands in for *testing.T to capture what Require reports.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                          {}
func (r *recorder) Skip(args ...any)                 { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any)                { r.failed = fmt.Sprint(args...) }
func (r *recorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestRequire(t *testing.T) {
	addr := closedPort(t)

	t.Run("skips_with_one_line_when_unreachable", func(t *testing.T) {
		t.Setenv("REDIS_ADDR", addr)
		t.Setenv(testkit.RequiredEnv, "")
		r := &recorder{TB: t}
		testkit.RequireMode(r, testkit.Redis, false)
		want := "REDIS_ADDR=" + addr + " unreachable — run make up"
		if !strings.HasPrefix(r.skipped, want) || r.failed != "" {
			t.Fatalf("skipped=%q failed=%q, want skip starting %q", r.skipped, r.failed, want)
		}
		if strings.Contains(r.skipped, "\n") {
			t.Fatalf("skip message is not one line: %q", r.skipped)
		}
	})

	t.Run("fails_when_infra_required", func(t *testing.T) {
		t.Setenv("AMQP_URL", "amqp://guest:secret@"+addr+"/")
		t.Setenv(testkit.RequiredEnv, "1")
		r := &recorder{TB: t}
		testkit.RequireMode(r, testkit.RabbitMQ, false)
		if r.failed == "" || r.skipped != "" {
			t.Fatalf("skipped=%q failed=%q, want a failure", r.skipped, r.failed)
		}
		if strings.Contains(r.failed, "secret") {
			t.Fatalf("failure message leaks the password: %q", r.failed)
		}
	})

	t.Run("skips_under_short_even_when_required", func(t *testing.T) {
		t.Setenv(testkit.RequiredEnv, "1")
		r := &recorder{TB: t}
		testkit.RequireMode(r, testkit.Redis, true)
		if r.skipped != "needs REDIS_ADDR (a stack service); skipped under -short" || r.failed != "" {
			t.Fatalf("skipped=%q failed=%q", r.skipped, r.failed)
		}
	})

	t.Run("returns_endpoint_when_reachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		ep := "nats://" + ln.Addr().String()
		t.Setenv("NATS_URL", ep)
		r := &recorder{TB: t}
		if got := testkit.RequireMode(r, testkit.NATS, false); got != ep || r.skipped+r.failed != "" {
			t.Fatalf("Require = %q (skipped=%q failed=%q), want %q", got, r.skipped, r.failed, ep)
		}
	})
}

func TestHostPort(t *testing.T) {
	tests := []struct {
		svc     testkit.Service
		ep      string
		want    string
		wantErr bool
	}{
		{testkit.Postgres, "postgres://app:app@localhost:15432/app", "localhost:15432", false},
		{testkit.Postgres, "postgres://app@db.internal/app", "db.internal:5432", false},
		{testkit.Kafka, "k1:9092, k2:9092", "k1:9092", false},
		{testkit.Redis, "localhost:6379", "localhost:6379", false},
		{testkit.RabbitMQ, "amqp://guest:guest@localhost/", "localhost:5672", false},
		{testkit.OTLP, "http://localhost:4318", "localhost:4318", false},
		{testkit.Postgres, "not a url", "", true},
		{testkit.NATS, "tcp://x", "", true},
	}
	for _, tt := range tests {
		got, err := testkit.HostPort(tt.svc, tt.ep)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("HostPort(%s, %q) = %q, %v; want %q, error %v", tt.svc, tt.ep, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)
	t.Run("Mixed Case/and spaces!! plus a very long tail that goes on and on", func(t *testing.T) {
		a, b := testkit.Name(t), testkit.Name(t)
		for _, n := range []string{a, b} {
			if !valid.MatchString(n) {
				t.Errorf("Name = %q, want [a-z][a-z0-9_]{0,47}", n)
			}
		}
		if a == b {
			t.Errorf("two calls gave the same name %q", a)
		}
		if !strings.HasPrefix(a, "t_testname_mixed_case_and_spaces_plus") {
			t.Errorf("Name = %q does not derive from the test name", a)
		}
	})
}

func TestGetenv(t *testing.T) {
	t.Setenv("TESTKIT_FROM_ENV", "env")
	t.Setenv("TESTKIT_HIDDEN", "env")
	getenv := testkit.Getenv(t, map[string]string{"TESTKIT_OVERRIDE": "over", "TESTKIT_HIDDEN": ""})
	for key, want := range map[string]string{
		"TESTKIT_OVERRIDE": "over", "TESTKIT_FROM_ENV": "env", "TESTKIT_HIDDEN": "",
	} {
		if got := getenv(key); got != want {
			t.Errorf("getenv(%q) = %q, want %q", key, got, want)
		}
	}
}

func ExampleRedact() {
	fmt.Println(testkit.Redact("postgres://app:s3cret@localhost:5432/app"))
	fmt.Println(testkit.Redact("localhost:6379"))
	// Output:
	// postgres://app:xxxxx@localhost:5432/app
	// localhost:6379
}

func TestUnsetPrefix(t *testing.T) {
	t.Setenv("TESTKIT_UNSET_A", "1")
	t.Setenv("TESTKIT_KEEP", "2")
	t.Run("unsets_only_the_prefix", func(t *testing.T) {
		testkit.UnsetPrefix(t, "TESTKIT_UNSET_")
		if _, ok := os.LookupEnv("TESTKIT_UNSET_A"); ok {
			t.Error("TESTKIT_UNSET_A still set")
		}
		if os.Getenv("TESTKIT_KEEP") != "2" {
			t.Error("TESTKIT_KEEP changed")
		}
	})
	if os.Getenv("TESTKIT_UNSET_A") != "1" {
		t.Error("TESTKIT_UNSET_A not restored after the subtest")
	}
}

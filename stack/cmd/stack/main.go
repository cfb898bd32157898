// Command stack starts, stops and checks the infrastructure the examples
// use: Docker Compose where a Docker engine answers, native mode elsewhere.
// The Makefile runs it as make up, make down and make doctor.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-course/part4-infrastructure/stack/internal/health"
	"github.com/go-course/part4-infrastructure/stack/internal/native"
	"github.com/go-course/part4-infrastructure/testkit"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		code := 1
		var u usageError
		if errors.As(err, &u) {
			code = 2
		}
		os.Exit(code)
	}
}

const usage = `usage: stack up|down|clean|doctor
       stack run-section N
       stack verify-readme [N | EXAMPLE-FOLDER ...]
       stack verify-copyable [N | EXAMPLE-FOLDER ...]
       stack check-tree`

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	switch args[0] {
	case "run-section", "verify-readme", "verify-copyable", "check-tree":
		return runVerify(ctx, root, args[0], args[1:], stdout)
	}
	if len(args) != 1 {
		return errors.New(usage)
	}
	s := &native.Stack{Root: root, Out: stdout}
	switch args[0] {
	case "up":
		if dockerAnswers(ctx) && os.Getenv("STACK_MODE") != "native" {
			return composeUp(ctx, s, stdout)
		}
		return s.Up(ctx)
	case "down":
		if _, err := os.Stat(filepath.Join(root, ".stack", "state.json")); err == nil || !dockerAnswers(ctx) {
			return s.Down(ctx)
		}
		return compose(ctx, root, stdout, "down")
	case "clean":
		if _, err := os.Stat(filepath.Join(root, ".stack", "state.json")); err != nil && dockerAnswers(ctx) {
			if err := compose(ctx, root, stdout, "down", "--volumes"); err != nil {
				return err
			}
		}
		return s.Purge(ctx)
	case "doctor":
		return doctor(ctx, root, stdout)
	}
	return fmt.Errorf("unknown command %q; %s", args[0], usage)
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.work above %s: run from the repository", dir)
		}
	}
}

func dockerAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info").Run() == nil
}

func compose(ctx context.Context, root string, stdout io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"compose", "-f", filepath.Join(root, "docker-compose.yml")}, args...)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker compose %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// composeUp generates the certificates the compose file mounts, starts the
// stack and waits for every healthcheck, then records the endpoints.
func composeUp(ctx context.Context, s *native.Stack, stdout io.Writer) error {
	if err := s.EnsureCerts(); err != nil {
		return err
	}
	if err := compose(ctx, s.Root, stdout, "up", "-d", "--wait", "--wait-timeout", "300"); err != nil {
		return err
	}
	env := map[string]string{"STACK_MODE": "compose"}
	for _, svc := range testkit.Services() {
		env[string(svc)] = testkit.Default(svc)
	}
	env[string(testkit.PostgresCA)] = filepath.Join(s.Root, ".stack", "certs", "ca.crt")
	if err := native.WriteEnv(filepath.Join(s.Root, ".stack", "env"), env); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "up (docker compose): make doctor checks every endpoint")
	return nil
}

// doctor checks every endpoint of the contract with its real client and
// prints a table; it fails when any endpoint is unhealthy.
func doctor(ctx context.Context, root string, stdout io.Writer) error {
	envFile := readEnvFile(filepath.Join(root, ".stack", "env"))
	getenv := func(k string) string { return cmp.Or(os.Getenv(k), envFile[k]) }
	mode := cmp.Or(getenv("STACK_MODE"), "none (compose defaults)")

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(stdout, "stack mode: %s\n\n", mode)
	fmt.Fprintln(tw, "VARIABLE\tENDPOINT\tSTATUS\tVERSION\tFIX")
	bad := 0
	for _, c := range health.Contract() {
		ep := cmp.Or(getenv(string(c.Service)), testkit.Default(c.Service))
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		r := c.Run(cctx, ep, getenv)
		cancel()
		status, fix, version := "ok", "", r.Version
		if r.Err != nil {
			bad++
			status = "FAIL: " + oneLine(r.Err.Error())
			fix = fixFor(mode, c.Service)
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Service, testkit.Redact(ep), status, version, fix)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d endpoints unhealthy", bad, len(health.Contract()))
	}
	fmt.Fprintf(stdout, "\nall %d endpoints healthy\n", len(health.Contract()))
	return nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}

// fixFor names the command that repairs an unhealthy endpoint.
func fixFor(mode string, svc testkit.Service) string {
	logName := map[testkit.Service]string{
		testkit.Postgres: "postgres", testkit.PostgresAdmin: "postgres", testkit.PostgresCA: "postgres",
		testkit.Replica: "postgres-replica", testkit.PgBouncer: "pgbouncer", testkit.Redis: "redis",
		testkit.Kafka: "kafka", testkit.RabbitMQ: "rabbitmq", testkit.NATS: "nats",
		testkit.OTLP: "jaeger", testkit.JaegerQuery: "jaeger", testkit.Zipkin: "jaeger",
	}[svc]
	switch mode {
	case "native":
		return fmt.Sprintf("tail .stack/logs/%s.log; make down && make up", logName)
	case "compose":
		return "docker compose logs; make up"
	}
	return "make up"
}

func readEnvFile(path string) map[string]string {
	env := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return env
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env
}

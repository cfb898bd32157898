// Command app is a small production-shaped HTTP service built to be shipped
// in a container: one resource in PostgreSQL cached in Redis, configured only
// from the environment, with /livez, /readyz, /metrics, OpenTelemetry traces
// and a graceful shutdown on SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // an empty base image has no /usr/share/zoneinfo

	"go.opentelemetry.io/otel"
)

// version and commit are set at build time:
// go build -ldflags "-X main.version=1.2.3 -X main.commit=$(git rev-parse HEAD)".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	// Subcommands of the same binary: distroless has no shell, curl or sleep,
	// so the HEALTHCHECK of the image runs the service binary itself.
	if len(args) > 0 {
		switch args[0] {
		case "healthcheck":
			return healthcheck(ctx, getenv, stdout)
		case "version":
			fmt.Fprintf(stdout, "app %s (commit %s, %s)\n", version, commit, runtime.Version())
			return nil
		}
	}
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(stdout)
	once := fs.Bool("once", false, "serve on a free port, exercise every endpoint, shut down as on SIGTERM")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *once && getenv("HTTP_ADDR") == "" {
		// One pass on a free loopback port: no clash with a running instance.
		env := getenv
		getenv = func(k string) string {
			if k == "HTTP_ADDR" {
				return "127.0.0.1:0"
			}
			return env(k)
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}

	// Go 1.25+ sizes GOMAXPROCS from the container's CPU limit (go.mod must
	// say go 1.25 or later). GOMEMLIMIT is not automatic: the Deployment
	// passes the memory limit in MEMORY_LIMIT and we keep 10% headroom.
	if cfg.MemoryLimit > 0 && getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cfg.MemoryLimit / 10 * 9)
	}

	// SIGTERM is what Kubernetes and docker stop send; os.Interrupt is Ctrl-C.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	tel, err := newTelemetry(ctx, cfg)
	if err != nil {
		return err
	}
	// Traces are flushed last, after the server has drained: the spans of
	// the final requests are the ones you want when a rollout goes wrong.
	defer tel.shutdown(os.Stderr)
	// Global provider and propagator: instrumented clients (otelhttp, pgx
	// tracers) then join the same traces and pass traceparent on.
	otel.SetTracerProvider(tel.tp)
	otel.SetTextMapPropagator(tel.prop)

	deps, err := newDeps(cfg, tel)
	if err != nil {
		return err
	}
	defer deps.close()

	srv := newServer(cfg, deps, tel, os.Stderr)
	addr, errc, err := srv.start(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "app %s (commit %s) listening on %s\n", version, commit, addr)
	if *once {
		return exercise(ctx, addr, errc, srv, stdout)
	}
	// Serve until SIGTERM; a failing listener ends the process too.
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stop() // from here a second Ctrl-C ends the process at once
	return srv.shutdown(stdout)
}

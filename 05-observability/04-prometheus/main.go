// Command 04-prometheus serves RED metrics of an HTTP handler from its own
// Prometheus registry: a histogram with classic and native buckets and
// trace-id exemplars, a capped tenant label, a custom collector, and the
// Go and process collectors, then scrapes itself in both text formats.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("04-prometheus", flag.ContinueOnError)
	fs.SetOutput(stdout)
	serve := fs.Bool("serve", false, "keep serving until SIGTERM or Ctrl-C")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	// SIGTERM is what docker stop and Kubernetes send; os.Interrupt is Ctrl-C.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	// One registry of our own, passed in: the global DefaultRegisterer
	// panics on the second MustRegister of the same name (tests, two servers).
	reg := prometheus.NewRegistry()
	if err := errors.Join(reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))); err != nil {
		return fmt.Errorf("register runtime collectors: %w", err)
	}
	m, err := newMetrics(reg, 3)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	// Registering the same metric again is an error to handle, not a panic.
	var dup prometheus.AlreadyRegisteredError
	if _, err := newMetrics(reg, 3); errors.As(err, &dup) {
		fmt.Fprintf(stdout, "register again: %v\n", dup)
	}
	jobs := make(chan int, 100)
	if err := reg.Register(newQueueCollector(func() int { return len(jobs) })); err != nil {
		return fmt.Errorf("register queue collector: %w", err)
	}

	app := http.NewServeMux()
	app.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "order %s\n", r.PathValue("id"))
	})
	app.HandleFunc("POST /orders", enqueue(jobs))
	app.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	root := http.NewServeMux()
	// EnableOpenMetrics: exemplars exist only in that format, which a
	// scraper asks for in its Accept header.
	root.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true, Registry: reg}))
	root.Handle("/", withTraceContext(m.middleware(app)))

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cmp.Or(getenv("HTTP_ADDR"), "127.0.0.1:8080"))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln); close(errc) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // Serve then returns ErrServerClosed
		if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve: %w", serr))
		}
	}()
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "serving %s/metrics\n", base)

	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := traffic(rctx, base); err != nil {
		return err
	}
	if err := printScrape(rctx, base, stdout); err != nil {
		return err
	}
	if *serve {
		select {
		case <-ctx.Done():
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		}
	}
	return nil
}

// enqueue accepts a job if the queue has room. Nothing consumes the queue
// here, and a blocking send would hang every request past its capacity:
// a full queue answers 503 at once, which a client can retry.
func enqueue(jobs chan<- int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		select {
		case jobs <- 1:
			w.WriteHeader(http.StatusAccepted)
		default:
			http.Error(w, "queue full", http.StatusServiceUnavailable)
		}
	}
}

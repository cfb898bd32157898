// Command 07-correlation ties logs, metrics and traces of one HTTP service
// together: every log line carries the trace id, the latency histogram
// carries it as an exemplar, and the trace is in Jaeger — so a request can
// be followed from any of the three to the others.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	fs := flag.NewFlagSet("07-correlation", flag.ContinueOnError)
	fs.SetOutput(stdout)
	serve := fs.Bool("serve", false, "keep serving until SIGTERM or Ctrl-C")
	withTime := fs.Bool("time", true, "print the log time (off for comparable output)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	// SIGTERM is what docker stop and Kubernetes send; os.Interrupt is Ctrl-C.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	tel, err := newTelemetry(ctx, getenv)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if serr := tel.shutdown(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("flush telemetry: %w", serr))
		}
	}()
	// Globals for instrumented libraries; this program's own code passes
	// the providers explicitly (see 05-otel-tracing).
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	otel.SetTracerProvider(tel.tp)
	otel.SetMeterProvider(tel.mp)
	otel.SetTextMapPropagator(prop)

	// Logs go to stdout and, for the demo's own check only, to a buffer:
	// logs.stop() ends the copy once the demo is done.
	var logs lockedBuffer
	opts := &slog.HandlerOptions{}
	if !*withTime {
		opts.ReplaceAttr = dropTime
	}
	logger := slog.New(traceHandler{slog.NewJSONHandler(io.MultiWriter(stdout, &logs), opts)})

	app := http.NewServeMux()
	app.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if id == "0" {
			logger.WarnContext(r.Context(), "order not found", "order_id", id)
			http.NotFound(w, r)
			return
		}
		logger.InfoContext(r.Context(), "order loaded", "order_id", id)
		fmt.Fprintf(w, "order %s\n", id)
	})
	root := http.NewServeMux()
	root.Handle("GET /metrics", promhttp.HandlerFor(tel.reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	// otelhttp: a server span per request and http.server.request.duration.
	root.Handle("/", otelhttp.NewHandler(app, "orders", otelhttp.WithTracerProvider(tel.tp),
		otelhttp.WithMeterProvider(tel.mp), otelhttp.WithPropagators(prop)))
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

	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	f := follower{base: base, jaeger: cmp.Or(getenv("JAEGER_QUERY_URL"), "http://localhost:16686"),
		tp: tel.tp, prop: prop, logs: logs.String}
	for _, id := range []string{"1", "0"} {
		line, err := f.follow(rctx, "/orders/"+id)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, line)
	}
	logs.stop()
	if *serve {
		select {
		case <-ctx.Done():
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		}
	}
	return nil
}

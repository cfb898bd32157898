// Command 05-otel-tracing sets up the OpenTelemetry SDK the way a service
// needs it and follows one trace across an HTTP hop (otelhttp) and a NATS
// message (headers), with baggage, span events, an error status, and a
// flush on exit that reports lost spans instead of failing.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) (err error) {
	tp, err := newTracing(ctx, getenv)
	if err != nil {
		return err
	}
	// Flush on every return path, with its own deadline: ctx may be done.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		fmt.Fprintln(stdout, tp.shutdown(sctx))
	}()
	// The globals are what instrumented libraries (database drivers, gRPC,
	// Kafka clients) use. Both default to no-ops: without these two lines
	// they trace nothing and propagate nothing. This program's own code
	// takes tp and prop explicitly, which keeps tests independent.
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(prop)
	// The SDK and instrumentation libraries hand their errors to a global
	// handler. A no-op one would hide them all while the service runs;
	// this one prints the first and then one a minute, with a count.
	// Export errors go to the exit line, counted by countingExporter.
	otel.SetErrorHandler(newErrorReporter(os.Stderr, time.Minute))
	fmt.Fprintln(stdout, "tracing:", tp.describe)

	nc, err := nats.Connect(cmp.Or(getenv("NATS_URL"), "nats://localhost:4222"), nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	defer nc.Close()
	subject := "orders." + nats.NewInbox()[len("_INBOX."):]
	done := make(chan processed, 1)
	sub, err := consume(tp, prop, nc, subject, done)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe() //nolint:errcheck // the connection closes next
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		return fmt.Errorf("nats: %w", err)
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: newBackend(tp, prop, nc, subject), ReadHeaderTimeout: 5 * time.Second}
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

	client := &http.Client{Timeout: 5 * time.Second, Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))}
	tracer := tp.Tracer("checkout/frontend")
	url := "http://" + ln.Addr().String() + "/orders"

	root, status, err := checkout(ctx, tracer, client, url)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checkout: POST /orders %d\n", status)
	select {
	case p := <-done:
		fmt.Fprintf(stdout, "consumer: same trace %t, parent is the send span %t, baggage tenant=%s\n",
			p.traceID == root.TraceID(), p.parentSpanID.IsValid() && p.parentSpanID != root.SpanID(), p.tenant)
	case <-time.After(5 * time.Second):
		return errors.New("consumer: no message within 5s")
	}
	_, status, err = checkout(ctx, tracer, client, url+"?fail=1")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checkout: POST /orders?fail=1 %d, span status Error\n", status)
	return nil
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// processed is what the consumer saw of a message's context.
type processed struct {
	traceID      trace.TraceID
	parentSpanID trace.SpanID
	tenant       string
}

// newBackend is the HTTP service: otelhttp extracts the caller's
// traceparent and baggage and starts the server span; the handler adds an
// event and publishes a message that carries the same context in headers.
func newBackend(tp trace.TracerProvider, prop propagation.TextMapPropagator, nc *nats.Conn, subject string) http.Handler {
	tracer := tp.Tracer("checkout/backend")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		span.AddEvent("order.validated", trace.WithAttributes(attribute.Int("order.items", 3)))
		if r.URL.Query().Get("fail") != "" {
			// A fixed description and error.type: never the error's text or
			// request values, which may hold user data.
			span.SetStatus(codes.Error, "payment unavailable")
			span.SetAttributes(semconv.ErrorTypeKey.String("payment_unavailable"))
			http.Error(w, "payment unavailable", http.StatusBadGateway)
			return
		}
		if err := publish(ctx, tracer, prop, nc, subject, []byte("order 42")); err != nil {
			span.SetStatus(codes.Error, "publish failed")
			span.SetAttributes(semconv.ErrorTypeKey.String("publish"))
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	return otelhttp.NewHandler(mux, "backend",
		otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))
}

// publish sends a message in a producer span; the headers carry
// traceparent and baggage, as an HTTP request does.
func publish(ctx context.Context, tracer trace.Tracer, prop propagation.TextMapPropagator,
	nc *nats.Conn, subject string, body []byte) error {
	// Span names stay low-cardinality ("send orders"); the subject, which
	// may carry ids, is an attribute.
	ctx, span := tracer.Start(ctx, "send orders", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingSystemKey.String("nats"),
			semconv.MessagingOperationTypeSend, semconv.MessagingDestinationName(subject)))
	defer span.End()
	msg := &nats.Msg{Subject: subject, Data: body, Header: nats.Header{}}
	// nats.Header has http.Header's underlying type: HeaderCarrier fits.
	prop.Inject(ctx, propagation.HeaderCarrier(msg.Header))
	if err := nc.PublishMsg(msg); err != nil {
		span.SetStatus(codes.Error, "publish failed")
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// consume subscribes and processes each message in a consumer span that
// continues the producer's trace.
func consume(tp trace.TracerProvider, prop propagation.TextMapPropagator, nc *nats.Conn,
	subject string, out chan<- processed) (*nats.Subscription, error) {
	tracer := tp.Tracer("checkout/consumer")
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		ctx := prop.Extract(context.Background(), propagation.HeaderCarrier(m.Header))
		parent := trace.SpanContextFromContext(ctx)
		ctx, span := tracer.Start(ctx, "process orders", trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(semconv.MessagingSystemKey.String("nats"),
				semconv.MessagingOperationTypeProcess, semconv.MessagingDestinationName(subject)))
		p := processed{traceID: span.SpanContext().TraceID(), parentSpanID: parent.SpanID(),
			tenant: baggage.FromContext(ctx).Member("tenant").Value()}
		// End before reporting: once the report is read the program may shut
		// the provider down, and a span ended after that is lost.
		span.End()
		select {
		case out <- p:
		case <-time.After(5 * time.Second): // nobody waits: drop the report, not the span
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	return sub, nil
}

// checkout is the caller: a root span with baggage, and an HTTP client
// whose otelhttp transport injects both into the request.
func checkout(ctx context.Context, tracer trace.Tracer, client *http.Client, url string) (trace.SpanContext, int, error) {
	member, err := baggage.NewMember("tenant", "acme")
	if err != nil {
		return trace.SpanContext{}, 0, fmt.Errorf("baggage: %w", err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		return trace.SpanContext{}, 0, fmt.Errorf("baggage: %w", err)
	}
	ctx, span := tracer.Start(baggage.ContextWithBaggage(ctx, bag), "checkout")
	defer span.End()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return span.SpanContext(), 0, fmt.Errorf("request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		span.SetStatus(codes.Error, "request failed")
		return span.SpanContext(), 0, fmt.Errorf("post: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		span.SetStatus(codes.Error, "backend error")
	}
	return span.SpanContext(), resp.StatusCode, nil
}

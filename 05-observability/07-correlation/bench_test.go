package main

// The cost of one latency observation with three labels, recorded through
// client_golang directly and through the OpenTelemetry metrics SDK with
// the Prometheus exporter (the path of this example).
// Run: go test -run '^$' -bench Observe -benchmem ./05-observability/07-correlation

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func BenchmarkObserve(b *testing.B) {
	b.Run("client_golang", func(b *testing.B) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_server_request_duration_seconds",
			Help: "x.", Buckets: prometheus.DefBuckets}, []string{"http_request_method", "http_route", "http_response_status_code"})
		b.ReportAllocs()
		for b.Loop() {
			h.WithLabelValues("GET", "/orders/{id}", "200").Observe(0.0123)
		}
	})
	newHist := func(b *testing.B) metric.Float64Histogram {
		exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
		b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		h, err := mp.Meter("bench").Float64Histogram("http.server.request.duration", metric.WithUnit("s"))
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	attrs := []attribute.KeyValue{attribute.String("http.request.method", "GET"),
		attribute.String("http.route", "/orders/{id}"), attribute.Int("http.response.status_code", 200)}
	b.Run("otel-attributes", func(b *testing.B) {
		h, ctx := newHist(b), context.Background()
		b.ReportAllocs()
		for b.Loop() {
			h.Record(ctx, 0.0123, metric.WithAttributes(attrs...))
		}
	})
	b.Run("otel-attribute-set", func(b *testing.B) {
		h, ctx := newHist(b), context.Background()
		set := metric.WithAttributeSet(attribute.NewSet(attrs...))
		b.ReportAllocs()
		for b.Loop() {
			h.Record(ctx, 0.0123, set)
		}
	})
}

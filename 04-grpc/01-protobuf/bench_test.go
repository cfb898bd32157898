package main

import (
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// BenchmarkEncoding compares the binary wire format with protojson (what
// the gateway speaks) on the same product: a marshal and an unmarshal per
// operation, and the encoded size as B/msg.
func BenchmarkEncoding(b *testing.B) {
	p := inventory.Catalog(time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC))[2]
	codecs := []struct {
		name      string
		marshal   func(proto.Message) ([]byte, error)
		unmarshal func([]byte, proto.Message) error
	}{
		{"proto", proto.Marshal, proto.Unmarshal},
		{"protojson", protojson.Marshal, protojson.Unmarshal},
	}
	for _, c := range codecs {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				data, err := c.marshal(p)
				if err != nil {
					b.Fatal(err)
				}
				var out inventoryv1.Product
				if err := c.unmarshal(data, &out); err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size), "B/msg")
		})
	}
}

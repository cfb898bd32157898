package main

import (
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// BenchmarkGetProduct makes the same call natively over gRPC and as
// REST/JSON through the gateway (HTTP/1.1 → gateway → gRPC → back), both
// over loopback TCP against the same server.
func BenchmarkGetProduct(b *testing.B) {
	base, grpcAddr := startGatewayTB(b)
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	c := inventoryv1.NewInventoryServiceClient(conn)

	b.Run("grpc-proto", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.GetProduct(b.Context(), &inventoryv1.GetProductRequest{Sku: "BOOK-001"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gateway-json", func(b *testing.B) {
		client := &http.Client{}
		for b.Loop() {
			req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, base+"/v1/products/BOOK-001", http.NoBody)
			if err != nil {
				b.Fatal(err)
			}
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// BenchmarkFetchN fetches the same 100 products over loopback TCP either
// as 100 unary round trips or as one server stream; ns/op is per batch.
func BenchmarkFetchN(b *testing.B) {
	const n = 100
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	products := make([]*inventoryv1.Product, n)
	for i := range products {
		p := inventory.Catalog(at)[2]
		p.Sku = fmt.Sprintf("HW-%04d", i)
		products[i] = p
	}
	lis, err := new(net.ListenConfig).Listen(b.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	inventoryv1.RegisterInventoryServiceServer(srv, inventory.NewServer(time.Now, products...))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	b.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	c := inventoryv1.NewInventoryServiceClient(dial(b, lis.Addr().String()))

	b.Run(fmt.Sprintf("unary-x%d", n), func(b *testing.B) {
		for b.Loop() {
			for _, p := range products {
				if _, err := c.GetProduct(b.Context(), &inventoryv1.GetProductRequest{Sku: p.GetSku()}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run(fmt.Sprintf("stream-%d", n), func(b *testing.B) {
		for b.Loop() {
			s, err := c.ListProducts(b.Context(), &inventoryv1.ListProductsRequest{})
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for {
				_, err := s.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				got++
			}
			if got != n {
				b.Fatalf("stream sent %d products, want %d", got, n)
			}
		}
	})
}

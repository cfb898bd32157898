package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// demoService misbehaves on purpose: PANIC-1 panics (a bug), and HW-042
// fails with Unavailable while failures lasts (an overloaded replica).
type demoService struct {
	*inventory.Server
	failures atomic.Int32
	attempts atomic.Int32
}

func (d *demoService) GetProduct(ctx context.Context, req *inventoryv1.GetProductRequest) (*inventoryv1.GetProductResponse, error) {
	switch req.GetSku() {
	case "PANIC-1":
		panic("price list missing for " + req.GetSku()) // a bug in a handler
	case "HW-042":
		d.attempts.Add(1)
		if d.failures.Add(-1) >= 0 {
			return nil, status.Error(codes.Unavailable, "replica overloaded")
		}
	}
	return d.Server.GetProduct(ctx, req)
}

// calls makes one call per interceptor and prints what the client sees.
func calls(ctx context.Context, addr string, otelOpts []otelgrpc.Option, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, closeConn, err := dial(addr, otelOpts)
	if err != nil {
		return err
	}
	defer closeConn()

	get := func(sku string) {
		res, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: sku})
		fmt.Fprintf(out, "GetProduct %s: %s\n", sku, result(res.GetProduct().GetName(), err))
	}
	get("BOOK-001")
	res, err := c.CreateProduct(ctx, &inventoryv1.CreateProductRequest{Product: tea()})
	fmt.Fprintf(out, "CreateProduct TEA-100: %s\n", result(res.GetProduct().GetName(), err))
	get("tea")
	get("PANIC-1")
	get("BOOK-001") // the process survived the panic
	get("HW-042")

	stream, err := c.ListProducts(ctx, &inventoryv1.ListProductsRequest{})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	n := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("list recv: %w", err)
		}
		n++
	}
	fmt.Fprintf(out, "ListProducts: %d products\n", n)
	return nil
}

func tea() *inventoryv1.Product {
	return &inventoryv1.Product{
		Sku: "TEA-100", Name: "Green tea 100g", PriceCents: 650,
		Category: inventoryv1.Category_CATEGORY_FOOD, Stock: 30,
	}
}

func result(name string, err error) string {
	if err != nil {
		st := status.Convert(err)
		return fmt.Sprintf("%s: %s", st.Code(), st.Message())
	}
	return fmt.Sprintf("ok %q", name)
}

// dial returns a client with the retry policy and tracing.
func dial(addr string, otelOpts []otelgrpc.Option) (inventoryv1.InventoryServiceClient, func(), error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(retryPolicy),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelOpts...)),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("client for %s: %w", addr, err)
	}
	return inventoryv1.NewInventoryServiceClient(conn), func() { conn.Close() }, nil
}

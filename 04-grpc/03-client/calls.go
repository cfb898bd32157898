package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// unary sends a request id as metadata and reads the header the server
// echoes it in.
func unary(ctx context.Context, c inventoryv1.InventoryServiceClient, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", "demo-1")
	var header metadata.MD
	res, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "BOOK-001"}, grpc.Header(&header))
	if err != nil {
		return fmt.Errorf("get BOOK-001: %w", err)
	}
	p := res.GetProduct()
	fmt.Fprintf(stdout, "GetProduct BOOK-001: %q, %d cents (x-request-id: %s)\n",
		p.GetName(), p.GetPriceCents(), strings.Join(header.Get("x-request-id"), ","))
	return nil
}

// richError reads the status code and the field violations the server
// attached; a client can map them onto its own form fields.
func richError(ctx context.Context, c inventoryv1.InventoryServiceClient, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	for _, sku := range []string{"book-1", "BOOK-999"} {
		_, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: sku})
		if err == nil {
			return fmt.Errorf("get %s: succeeded, want an error", sku)
		}
		st, ok := status.FromError(err)
		if !ok {
			return fmt.Errorf("get %s: not a status error: %w", sku, err)
		}
		fmt.Fprintf(stdout, "GetProduct %s: %s\n", sku, st.Code())
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fmt.Fprintf(stdout, "  field %s: %s\n", v.GetField(), v.GetDescription())
				}
			}
		}
	}
	return nil
}

// serverStream reads until io.EOF, the clean end of a stream.
func serverStream(ctx context.Context, c inventoryv1.InventoryServiceClient, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	stream, err := c.ListProducts(ctx, &inventoryv1.ListProductsRequest{})
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	var skus []string
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("list recv: %w", err)
		}
		skus = append(skus, res.GetProduct().GetSku())
	}
	fmt.Fprintf(stdout, "ListProducts: %s\n", strings.Join(skus, " "))
	return nil
}

// cancelStream leaves a stream that would run forever. Cancelling the
// context is how a client ends a stream early: the server sees its context
// cancelled and stops; forgetting it leaks the stream on both sides.
func cancelStream(ctx context.Context, c inventoryv1.InventoryServiceClient, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	watch, err := c.WatchStock(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "BOOK-001"}); err != nil {
		return fmt.Errorf("watch send: %w", err)
	}
	if _, err := watch.Recv(); err != nil {
		return fmt.Errorf("watch recv: %w", err)
	}
	cancel()
	// Messages already buffered may still arrive: read until the error.
	for err == nil {
		_, err = watch.Recv()
	}
	fmt.Fprintf(stdout, "WatchStock cancelled by the client: %s\n", status.Code(err))
	return nil
}

// watchAndImport subscribes to a stock level (bidirectional stream), then
// imports stock over a client stream and sees the change arrive.
func watchAndImport(ctx context.Context, c inventoryv1.InventoryServiceClient, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	watch, err := c.WatchStock(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "HW-042"}); err != nil {
		return fmt.Errorf("watch send: %w", err)
	}
	level, err := watch.Recv()
	if err != nil {
		return fmt.Errorf("watch recv: %w", err)
	}
	fmt.Fprintf(stdout, "WatchStock %s: %d\n", level.GetSku(), level.GetStock())

	imp, err := c.ImportStock(ctx)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, line := range []*inventoryv1.ImportStockRequest{
		{Sku: "HW-042", Quantity: 25}, {Sku: "BOOK-001", Quantity: 5},
	} {
		if err := imp.Send(line); err != nil {
			break // the server ended the stream; CloseAndRecv returns why
		}
	}
	sum, err := imp.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "ImportStock: %d lines, %d units\n", sum.GetLines(), sum.GetTotalQuantity())

	if level, err = watch.Recv(); err != nil {
		return fmt.Errorf("watch recv: %w", err)
	}
	fmt.Fprintf(stdout, "WatchStock %s: %d\n", level.GetSku(), level.GetStock())
	// CloseSend ends our side; the server then ends the stream with io.EOF.
	if err := watch.CloseSend(); err != nil {
		return fmt.Errorf("watch close: %w", err)
	}
	if _, err := watch.Recv(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("watch end: %w", err)
	}
	return nil
}

// watchDeadline shows a stream bounded by a deadline: it ends with
// DeadlineExceeded on both sides when the time is up.
func watchDeadline(ctx context.Context, c inventoryv1.InventoryServiceClient, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	watch, err := c.WatchStock(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	if err := watch.Send(&inventoryv1.WatchStockRequest{Sku: "FOOD-007"}); err != nil {
		return fmt.Errorf("watch send: %w", err)
	}
	for err == nil {
		_, err = watch.Recv()
	}
	fmt.Fprintf(stdout, "WatchStock with a 100ms deadline: %s\n", status.Code(err))
	return nil
}

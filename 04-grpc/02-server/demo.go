package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// callOnce does what `grpcurl -plaintext ADDR list` and a health probe do,
// then one unary call, so `-demo` proves the server end to end.
func callOnce(ctx context.Context, addr string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()

	services, err := listServices(ctx, conn)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reflection lists: %s\n", strings.Join(services, ", "))

	name := inventoryv1.InventoryService_ServiceDesc.ServiceName
	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: name})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	fmt.Fprintf(stdout, "health %s: %s\n", name, hc.GetStatus())

	res, err := inventoryv1.NewInventoryServiceClient(conn).GetProduct(ctx,
		&inventoryv1.GetProductRequest{Sku: "BOOK-001"})
	if err != nil {
		return fmt.Errorf("get product: %w", err)
	}
	fmt.Fprintf(stdout, "GetProduct BOOK-001: %q, stock %d\n", res.GetProduct().GetName(), res.GetProduct().GetStock())
	return nil
}

// listServices asks the reflection service for the service names, as
// grpcurl's list does.
func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("reflection: %w", err)
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}
	if err := stream.Send(req); err != nil {
		return nil, fmt.Errorf("reflection send: %w", err)
	}
	res, err := stream.Recv()
	if err != nil {
		return nil, fmt.Errorf("reflection recv: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return nil, fmt.Errorf("reflection close: %w", err)
	}
	var names []string
	for _, s := range res.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	slices.Sort(names)
	return names, nil
}

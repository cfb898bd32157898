package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// bearer sends the token with every call as per-RPC credentials. It
// requires transport security: grpc.NewClient refuses to send it over a
// plaintext channel, where anyone on the path could read it.
// https://pkg.go.dev/google.golang.org/grpc/credentials#PerRPCCredentials
type bearer struct{ token string }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}
func (bearer) RequireTransportSecurity() bool { return true }
func (bearer) String() string                 { return "Bearer [REDACTED]" }
func (bearer) GoString() string               { return "Bearer [REDACTED]" }

// calls makes one call per rule and prints what each client sees.
func calls(ctx context.Context, addr string, roots *x509.CertPool, tokens tokenAuth, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	client := func(token string) (*grpc.ClientConn, error) {
		opts := []grpc.DialOption{grpc.WithTransportCredentials(clientTLS(roots))}
		if token != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(bearer{token}))
		}
		conn, err := grpc.NewClient(addr, opts...)
		if err != nil {
			return nil, fmt.Errorf("client for %s: %w", addr, err)
		}
		conns = append(conns, conn)
		return conn, nil
	}
	var inv [4]inventoryv1.InventoryServiceClient // reader, admin, anonymous, wrong token
	for i, token := range []string{tokens.reader, tokens.admin, "", "guess"} {
		conn, err := client(token)
		if err != nil {
			return err
		}
		inv[i] = inventoryv1.NewInventoryServiceClient(conn)
	}
	reader, admin, anonymous, wrong := inv[0], inv[1], inv[2], inv[3]

	get := func(who string, c inventoryv1.InventoryServiceClient) {
		res, err := c.GetProduct(ctx, &inventoryv1.GetProductRequest{Sku: "BOOK-001"})
		fmt.Fprintf(out, "%s GetProduct: %s\n", who, result(res.GetProduct().GetName(), err))
	}
	get("reader", reader)
	get("anonymous", anonymous)
	get("wrong token", wrong)
	_, err := reader.CreateProduct(ctx, &inventoryv1.CreateProductRequest{Product: tea()})
	fmt.Fprintf(out, "reader CreateProduct: %s\n", result("", err))
	res, err := admin.CreateProduct(ctx, &inventoryv1.CreateProductRequest{Product: tea()})
	fmt.Fprintf(out, "admin CreateProduct: %s\n", result(res.GetProduct().GetName(), err))
	imp, err := reader.ImportStock(ctx)
	if err == nil {
		_, err = imp.CloseAndRecv()
	}
	fmt.Fprintf(out, "reader ImportStock (stream): %s\n", result("", err))

	// Probes carry no token.
	probe, err := client("")
	if err != nil {
		return err
	}
	hc, err := healthpb.NewHealthClient(probe).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	fmt.Fprintf(out, "anonymous health check: %s\n", hc.GetStatus())

	// The token never leaves over plaintext: the client refuses to start.
	_, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearer{tokens.reader}))
	if err == nil {
		return errors.New("a client sent the token over plaintext")
	}
	fmt.Fprintf(out, "token over plaintext: %v\n", err)
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

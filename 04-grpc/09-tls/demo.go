package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// callOnce calls the server as three clients: with the client certificate,
// with TLS but no certificate, and in plaintext. Only the first gets in
// when the server requires mutual TLS.
func callOnce(ctx context.Context, addr, dir string, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("split %s: %w", addr, err)
	}
	// Dial by name: the server certificate is valid for "localhost".
	target := net.JoinHostPort("localhost", port)
	withCert, err := clientConfig(dir, true)
	if err != nil {
		return err
	}
	noCert, err := clientConfig(dir, false)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name  string
		creds credentials.TransportCredentials
	}{
		{"client with certificate", credentials.NewTLS(withCert)},
		{"client without certificate", credentials.NewTLS(noCert)},
		{"plaintext client", insecure.NewCredentials()},
	} {
		fmt.Fprintf(stdout, "%s: %s\n", c.name, getProduct(ctx, target, c.creds))
	}
	return nil
}

func getProduct(ctx context.Context, target string, creds credentials.TransportCredentials) string {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err.Error()
	}
	defer conn.Close()
	res, err := inventoryv1.NewInventoryServiceClient(conn).GetProduct(ctx,
		&inventoryv1.GetProductRequest{Sku: "BOOK-001"})
	if err != nil {
		return status.Code(err).String()
	}
	return fmt.Sprintf("ok %q", res.GetProduct().GetName())
}

// clientConfig trusts the CA in ca.crt and, with withCert, presents the
// client certificate.
func clientConfig(dir string, withCert bool) (*tls.Config, error) {
	pool, err := loadPool(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}
	if withCert {
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

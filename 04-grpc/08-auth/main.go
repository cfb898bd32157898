// Command auth serves the inventory over TLS behind a fail-closed auth
// interceptor — bearer tokens mapped to roles, an allow-list of roles per
// method, the health service exempt — and calls it as clients that send
// their token as per-RPC credentials.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("auth", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "without configured tokens, make random ones that only this run knows")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage: not a failure
		}
		return err
	}
	if *demo {
		getenv = withRandomTokens(getenv)
	}
	// No token configured is no service: never a default token.
	tokens, err := newTokenAuth(getenv)
	if err != nil {
		return err
	}
	cert, roots, err := selfSigned(time.Now())
	if err != nil {
		return err
	}
	srv := newServer(tokens, cert)
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	err = calls(ctx, lis.Addr().String(), roots, tokens, stdout)
	srv.GracefulStop()
	if serr := <-served; serr != nil {
		return errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	return err
}

// serverOptions: TLS, and auth on every method but the health service's.
// In a full chain auth goes after recovery and before validation (see
// 04-interceptors).
func serverOptions(tokens tokenAuth, cert tls.Certificate) []grpc.ServerOption {
	authMatch := selector.MatchFunc(needsAuth)
	return []grpc.ServerOption{
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})),
		grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(tokens.authenticate), authMatch)),
		grpc.ChainStreamInterceptor(selector.StreamServerInterceptor(auth.StreamServerInterceptor(tokens.authenticate), authMatch)),
	}
}

// newServer serves the inventory and health services.
func newServer(tokens tokenAuth, cert tls.Certificate) *grpc.Server {
	srv := grpc.NewServer(serverOptions(tokens, cert)...)
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv, inventory.NewServer(time.Now, inventory.Catalog(at)...))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	return srv
}

// withRandomTokens fills in missing tokens with random ones for -demo:
// nobody outside this process knows them, so nothing is opened.
func withRandomTokens(getenv func(string) string) func(string) string {
	random := map[string]string{"INVENTORY_ADMIN_TOKEN": rand.Text(), "INVENTORY_READER_TOKEN": rand.Text()}
	return func(k string) string { return cmp.Or(getenv(k), random[k]) }
}

// clientTLS trusts the server's certificate.
func clientTLS(roots *x509.CertPool) credentials.TransportCredentials {
	return credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13})
}

// Command tls serves the inventory service over TLS or mutual TLS with the
// certificates `make up` writes to .stack/certs, reloads them when they
// are renewed, and identifies clients by the SAN of their certificate.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tls:", err)
		os.Exit(1)
	}
}

// stopTimeout bounds the graceful stop on Ctrl-C.
const stopTimeout = 10 * time.Second

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tls", flag.ContinueOnError)
	addr := fs.String("addr", cmp.Or(getenv("GRPC_LISTEN_ADDR"), "localhost:50443"), "listen address")
	dir := fs.String("certs", cmp.Or(getenv("GRPC_CERTS_DIR"), ".stack/certs"),
		"folder with ca.crt, server.crt/key, client.crt/key (make up writes them)")
	mutual := fs.Bool("mtls", true, "require a client certificate signed by ca.crt")
	demo := fs.Bool("demo", false, "serve, call with and without a client certificate, then stop")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage: not a failure
		}
		return err
	}

	serverTLS, err := serverConfig(*dir, *mutual)
	if err != nil {
		return err
	}
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := newServer(serverTLS, stdout)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	mode := "TLS"
	if *mutual {
		mode = "mutual TLS"
	}
	fmt.Fprintf(stdout, "serving inventory.v1.InventoryService over %s on %s\n", mode, lis.Addr())

	if *demo {
		err = callOnce(ctx, lis.Addr().String(), *dir, stdout)
	} else {
		select {
		case err = <-served:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
	}
	// GracefulStop waits for running RPCs, and a stream may never end:
	// after the deadline Stop closes the connections (see 02-server).
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopTimeout):
		srv.Stop()
		<-stopped
	}
	if serr := <-served; serr != nil {
		return errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	return err
}

// newServer serves the inventory over TLS and logs the caller's identity
// for every call, unary and streaming.
func newServer(cfg *tls.Config, log io.Writer) *grpc.Server {
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(cfg)),
		grpc.UnaryInterceptor(logClientIdentity(log)),
		grpc.StreamInterceptor(logStreamIdentity(log)),
	)
	at := time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)
	inventoryv1.RegisterInventoryServiceServer(srv,
		inventory.NewServer(time.Now, inventory.Catalog(at)...))
	return srv
}

// serverConfig serves the key pair in dir; with mutual it also requires
// every client to present a certificate signed by the CA in ca.crt. The
// files are read again when they change (see certReloader).
func serverConfig(dir string, mutual bool) (*tls.Config, error) {
	r := &certReloader{dir: dir, mutual: mutual}
	if _, err := r.current(); err != nil {
		return nil, err // bad files at start: refuse to start
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return r.current() },
	}, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read CA: no certificate in %s", path)
	}
	return pool, nil
}

// logClientIdentity prints who called: with mutual TLS the verified client
// certificate is the caller's identity, usable for authorization.
func logClientIdentity(stdout io.Writer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		fmt.Fprintf(stdout, "server: %s from %s\n", info.FullMethod, identity(ctx))
		return h(ctx, req)
	}
}

// logStreamIdentity does the same for streaming RPCs: a check only on
// unary calls would leave every stream open to anyone.
func logStreamIdentity(stdout io.Writer) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		fmt.Fprintf(stdout, "server: %s from %s\n", info.FullMethod, identity(ss.Context()))
		return h(srv, ss)
	}
}

// identity is the verified client certificate's subject alternative name:
// a URI (SPIFFE style) or a DNS name, which X.509 tooling checks and
// constrains. The CN is shown only for certificates without a SAN, marked
// as such: do not authorize on it.
func identity(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "no client certificate"
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 {
		return "no client certificate"
	}
	leaf := ti.State.VerifiedChains[0][0]
	switch {
	case len(leaf.URIs) > 0:
		return leaf.URIs[0].String()
	case len(leaf.DNSNames) > 0:
		return "dns:" + leaf.DNSNames[0]
	}
	return "CN=" + leaf.Subject.CommonName + " (no SAN)"
}

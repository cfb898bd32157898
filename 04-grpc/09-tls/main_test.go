package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/go-course/part4-infrastructure/testkit/certs"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pki writes a fresh CA, server and client certificate, as `make up` does
// for .stack/certs, and returns a getenv pointing at them.
func pki(t *testing.T) (dir string, getenv func(string) string) {
	t.Helper()
	b, err := certs.New(certs.DefaultHosts(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := b.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	return dir, func(k string) string {
		if k == "GRPC_CERTS_DIR" {
			return dir
		}
		return ""
	}
}

func TestRunDemo(t *testing.T) {
	t.Parallel()
	for i, args := range [][]string{
		{"-demo", "-addr", "127.0.0.1:0"},
		{"-demo", "-addr", "127.0.0.1:0", "-mtls=false"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			_, getenv := pki(t)
			var out bytes.Buffer
			if err := run(t.Context(), args, getenv, &out); err != nil {
				t.Fatalf("run: %v", err)
			}
			testkit.CheckReadme(t, i, out.String())
		})
	}
}

// TestStreamsAreIdentifiedToo: the identity check covers streaming RPCs,
// not only unary ones.
func TestStreamsAreIdentifiedToo(t *testing.T) {
	t.Parallel()
	dir, _ := pki(t)
	serverTLS, err := serverConfig(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.Buffer{}
	lis := listen(t)
	srv := newServer(serverTLS, out)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	withCert, err := clientConfig(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	_, port := splitPort(t, lis.Addr().String())
	conn, err := grpc.NewClient("localhost:"+port, grpc.WithTransportCredentials(credentials.NewTLS(withCert)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := inventoryv1.NewInventoryServiceClient(conn).ListProducts(t.Context(), &inventoryv1.ListProductsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			break
		}
	}
	if want := "server: /inventory.v1.InventoryService/ListProducts from spiffe://part4-infrastructure/client\n"; out.String() != want {
		t.Errorf("log = %q, want %q", out.String(), want)
	}
}

// TestIdentityIsTheSAN: a client certificate with a URI SAN (SPIFFE
// style) is identified by it, not by its CN.
func TestIdentityIsTheSAN(t *testing.T) {
	t.Parallel()
	dir, _ := pki(t)
	b, err := certs.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	caBlock, _ := pem.Decode(b.CACert)
	keyBlock, _ := pem.Decode(b.CAKey)
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := url.Parse("spiffe://inventory/client-a")
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "ignored-cn"}, URIs: []*url.URL{id},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := clientConfig(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}

	serverTLS, err := serverConfig(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.Buffer{}
	lis := listen(t)
	srv := newServer(serverTLS, out)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	_, port := splitPort(t, lis.Addr().String())
	if got := getProduct(t.Context(), "localhost:"+port, credentials.NewTLS(clientTLS)); !strings.HasPrefix(got, "ok") {
		t.Fatalf("client with a SAN certificate: %s", got)
	}
	if want := "server: /inventory.v1.InventoryService/GetProduct from spiffe://inventory/client-a\n"; out.String() != want {
		t.Errorf("log = %q, want %q", out.String(), want)
	}
}

// TestRenewedCertificatesAreServedWithoutRestart: new files in the
// certificate folder (a renewal, here even a new CA) are used by the next
// handshake of the running server.
func TestRenewedCertificatesAreServedWithoutRestart(t *testing.T) {
	t.Parallel()
	dir, _ := pki(t)
	serverTLS, err := serverConfig(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	lis := listen(t)
	srv := newServer(serverTLS, io.Discard)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	_, port := splitPort(t, lis.Addr().String())
	target := "localhost:" + port
	old, err := clientConfig(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := getProduct(t.Context(), target, credentials.NewTLS(old)); !strings.HasPrefix(got, "ok") {
		t.Fatalf("before the renewal: %s", got)
	}

	renewed, err := certs.New(certs.DefaultHosts(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := renewed.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	fresh, err := renewed.ClientTLS(true)
	if err != nil {
		t.Fatal(err)
	}
	if got := getProduct(t.Context(), target, credentials.NewTLS(fresh)); !strings.HasPrefix(got, "ok") {
		t.Errorf("a client of the renewed PKI: %s, want ok (server still on the old certificate?)", got)
	}
	if got := getProduct(t.Context(), target, credentials.NewTLS(old)); got != codes.Unavailable.String() {
		t.Errorf("a client of the replaced PKI: %s, want Unavailable", got)
	}
}

// TestClientFromAnotherCARejected: a certificate that is valid but signed
// by a CA the server does not trust is refused like no certificate at all.
func TestClientFromAnotherCARejected(t *testing.T) {
	t.Parallel()
	dir, _ := pki(t)
	serverTLS, err := serverConfig(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.New([]string{"localhost"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.ClientTLS(true)
	if err != nil {
		t.Fatal(err)
	}
	// Trust the real server CA, but present the other CA's client certificate.
	trusted, err := clientConfig(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	stranger.RootCAs = trusted.RootCAs

	var out bytes.Buffer
	lis := listen(t)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)), grpc.UnaryInterceptor(logClientIdentity(&out)))
	inventoryv1.RegisterInventoryServiceServer(srv, inventoryv1.UnimplementedInventoryServiceServer{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	defer func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	_, port := splitPort(t, lis.Addr().String())
	got := getProduct(t.Context(), "localhost:"+port, credentials.NewTLS(stranger))
	if got != codes.Unavailable.String() {
		t.Errorf("client from another CA: %s, want Unavailable", got)
	}
	if out.Len() != 0 {
		t.Errorf("a handler ran for a rejected client: %q", out.String())
	}
}

func TestRunRejectsBadCertificates(t *testing.T) {
	t.Parallel()
	dir, _ := pki(t)
	empty := t.TempDir()
	for name, tt := range map[string]struct{ dir, want string }{
		"missing_folder":   {filepath.Join(empty, "nope"), "load server certificate (run make up to create"},
		"empty_folder":     {empty, "load server certificate"},
		"ca_is_not_a_cert": {copyWithBadCA(t, dir), "read CA: no certificate in"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string {
				if k == "GRPC_CERTS_DIR" {
					return tt.dir
				}
				return ""
			}
			var out bytes.Buffer
			err := run(t.Context(), []string{"-demo", "-addr", "127.0.0.1:0"}, getenv, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v, want an error containing %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("served despite bad certificates: %q", out.String())
			}
		})
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

func splitPort(t *testing.T, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// copyWithBadCA copies the PKI in dir and replaces ca.crt with a key file.
func copyWithBadCA(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{"server.crt", "server.key", "client.crt", "client.key"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dst, "ca.crt"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestRunFlags(t *testing.T) {
	t.Parallel()
	_, getenv := pki(t)
	var out bytes.Buffer
	err := run(t.Context(), []string{"-port", "1"}, getenv, &out)
	if err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -port") {
		t.Errorf("run -port 1: %v, want the unknown flag named", err)
	}
	if err := run(t.Context(), []string{"-help"}, getenv, &out); err != nil {
		t.Errorf("run -help: %v, want usage only, no error", err)
	}
	if out.Len() != 0 {
		t.Errorf("served on bad flags or -help: %q", out.String())
	}
}

// TestIdentityFallsBackToTheCN: a verified certificate without any SAN is
// named by its CN, marked so a log reader sees it is the weaker identity;
// no peer or no verified chain is named as such.
func TestIdentityFallsBackToTheCN(t *testing.T) {
	t.Parallel()
	withChain := func(c *x509.Certificate) credentials.TLSInfo {
		return credentials.TLSInfo{State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{c}}}}
	}
	spiffe, _ := url.Parse("spiffe://part4-infrastructure/client")
	for name, tt := range map[string]struct {
		info credentials.AuthInfo
		want string
	}{
		"cn_only":  {withChain(&x509.Certificate{Subject: pkix.Name{CommonName: "legacy"}}), "CN=legacy (no SAN)"},
		"uri_san":  {withChain(&x509.Certificate{Subject: pkix.Name{CommonName: "legacy"}, URIs: []*url.URL{spiffe}}), "spiffe://part4-infrastructure/client"},
		"dns_san":  {withChain(&x509.Certificate{DNSNames: []string{"svc.internal"}}), "dns:svc.internal"},
		"no_chain": {credentials.TLSInfo{}, "no client certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := peer.NewContext(t.Context(), &peer.Peer{AuthInfo: tt.info})
			if got := identity(ctx); got != tt.want {
				t.Errorf("identity = %q, want %q", got, tt.want)
			}
		})
	}
}

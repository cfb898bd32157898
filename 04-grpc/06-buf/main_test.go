package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

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

var addrRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func TestRunDemo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"-demo", "-addr", "127.0.0.1:0"}, []string{
			"serving inventory.v1.InventoryService over mutual TLS on ADDR",
			"server: /inventory.v1.InventoryService/GetProduct from CN=client",
			`client with certificate: ok "The Go Programming Language"`,
			"client without certificate: Unavailable",
			"plaintext client: Unavailable",
		}},
		{[]string{"-demo", "-addr", "127.0.0.1:0", "-mtls=false"}, []string{
			"serving inventory.v1.InventoryService over TLS on ADDR",
			"server: /inventory.v1.InventoryService/GetProduct from no client certificate",
			`client with certificate: ok "The Go Programming Language"`,
			"server: /inventory.v1.InventoryService/GetProduct from no client certificate",
			`client without certificate: ok "The Go Programming Language"`,
			"plaintext client: Unavailable",
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			_, getenv := pki(t)
			var out bytes.Buffer
			if err := run(t.Context(), tt.args, getenv, &out); err != nil {
				t.Fatalf("run: %v", err)
			}
			got := strings.Split(strings.TrimSpace(addrRE.ReplaceAllString(out.String(), "ADDR")), "\n")
			if !slices.Equal(got, tt.want) {
				t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
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

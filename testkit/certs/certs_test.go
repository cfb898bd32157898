package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit/certs"
)

// handshake runs one TLS handshake over loopback TCP, bounded by a deadline.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(5 * time.Second)
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(deadline)
		done <- tls.Server(conn, server).HandshakeContext(t.Context())
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(deadline)
	clientErr = tls.Client(conn, client).HandshakeContext(t.Context())
	serverErr = <-done
	_ = conn.Close()
	return serverErr, clientErr
}

func TestBundle(t *testing.T) {
	b, err := certs.New(certs.DefaultHosts(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("server_verifies_for_localhost_and_ip", func(t *testing.T) {
		srv, _ := b.ServerTLS(false)
		for _, host := range []string{"localhost", "127.0.0.1", "postgres"} {
			cli, _ := b.ClientTLS(false)
			cli.ServerName = host
			if se, ce := handshake(t, srv, cli); se != nil || ce != nil {
				t.Errorf("%s: server %v, client %v", host, se, ce)
			}
		}
	})

	t.Run("wrong_host_is_rejected", func(t *testing.T) {
		srv, _ := b.ServerTLS(false)
		cli, _ := b.ClientTLS(false)
		cli.ServerName = "example.com"
		_, ce := handshake(t, srv, cli)
		var hostErr x509.HostnameError
		if !errors.As(ce, &hostErr) {
			t.Fatalf("client error = %v, want an x509.HostnameError", ce)
		}
	})

	t.Run("mutual_tls_requires_client_certificate", func(t *testing.T) {
		srv, _ := b.ServerTLS(true)
		cli, _ := b.ClientTLS(false)
		cli.ServerName = "localhost"
		if se, _ := handshake(t, srv, cli); se == nil {
			t.Fatal("server accepted a client without a certificate")
		}
		cli, _ = b.ClientTLS(true)
		cli.ServerName = "localhost"
		if se, ce := handshake(t, srv, cli); se != nil || ce != nil {
			t.Fatalf("with client certificate: server %v, client %v", se, ce)
		}
	})

	t.Run("write_and_read_back", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "certs")
		if err := b.WriteDir(dir); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, certs.ServerKey))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("server key mode = %v, want 0600", fi.Mode().Perm())
		}
		got, err := certs.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.CACert) != string(b.CACert) || string(got.ServerKey) != string(b.ServerKey) {
			t.Error("bundle read back differs from the one written")
		}
	})

	t.Run("no_hosts_is_an_error", func(t *testing.T) {
		if _, err := certs.New(nil, time.Hour); err == nil {
			t.Fatal("New(nil) succeeded")
		}
	})
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-course/part4-infrastructure/01-postgresql/internal/pgtest"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/go-course/part4-infrastructure/testkit/certs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestRun(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.PostgresCA)
	var out bytes.Buffer
	if err := run(t.Context(), testkit.Getenv(t, nil), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := `tls: pg_stat_ssl ssl=true version=TLSv1.3
sslmode from the URL: 1 plain-text fallback(s)
verify-full: 0 plain-text fallback(s), server name localhost checked
server without TLS: refused (server refused TLS connection)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	testkit.CheckReadme(t, 0, out.String())
}

func TestRun_Rejects(t *testing.T) {
	t.Parallel()
	testkit.Require(t, testkit.PostgresCA)
	other, err := certs.New(certs.DefaultHosts(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := other.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"server_cert_from_unknown_ca", map[string]string{"PG_CA_CERT": filepath.Join(dir, certs.CACert)},
			"certificate signed by unknown authority"},
		{"ca_file_without_certificate", map[string]string{"PG_CA_CERT": empty}, "holds no PEM certificate"},
		{"missing_ca_file", map[string]string{"PG_CA_CERT": filepath.Join(dir, "nope")}, "read PG_CA_CERT: open"},
		// A server (or a man in the middle) that declines TLS: no plain-text retry.
		{"server_without_tls", map[string]string{"DATABASE_URL": "postgres://app:app@" + plainServer(t) + "/app"},
			"server refused TLS connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(t.Context(), testkit.Getenv(t, tt.env), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run: got %v, want an error containing %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("printed %q over an unverified connection", out.String())
			}
		})
	}
}

func hostPort(t *testing.T) string {
	hp, err := testkit.HostPort(testkit.Postgres, testkit.Require(t, testkit.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

// The server refuses the role tls_only on a connection without TLS
// (pg_hba.conf: hostnossl ... reject) and accepts it over verify-full.
func TestServerRefusesPlainConnection(t *testing.T) {
	t.Parallel()
	ca := testkit.Require(t, testkit.PostgresCA)
	u := pgtest.WithDatabase(t, "postgres://tls_only:tls_only@"+hostPort(t)+"/", "app")

	_, err := pgx.Connect(t.Context(), pgtest.WithParams(t, u, "sslmode", "disable"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28000" || !strings.Contains(pgErr.Message, "no encryption") {
		t.Fatalf("plain connection: got %v, want SQLSTATE 28000 ... no encryption", err)
	}

	conn, err := pgx.Connect(t.Context(), pgtest.WithParams(t, u, "sslmode", "verify-full", "sslrootcert", ca))
	if err != nil {
		t.Fatalf("verify-full connection: %v", err)
	}
	defer conn.Close(t.Context())
	var ssl bool
	if err := conn.QueryRow(t.Context(), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Errorf("pg_stat_ssl: ssl=%t err=%v", ssl, err)
	}
}

// plainServer is a TCP server that answers every SSLRequest with 'N' (no
// TLS here), as a server without TLS or a downgrading proxy would, and
// counts the connections that go on to send anything more.
func plainServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			wg.Go(func() {
				defer c.Close()
				var req [8]byte // length + SSLRequest code
				if _, err := io.ReadFull(c, req[:]); err != nil {
					return
				}
				if _, err := c.Write([]byte{'N'}); err != nil {
					return
				}
				// A client that went on in plain text would send its
				// startup message now; a refusing one closes.
				if n, _ := c.Read(req[:]); n > 0 {
					t.Errorf("the client sent %d bytes in plain text after the server declined TLS", n)
				}
			})
		}
	})
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func TestVerifyFullKeepsEveryHost(t *testing.T) {
	t.Parallel()
	ca, err := certs.New(certs.DefaultHosts(), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig("postgres://app@db1:5432,db2:5433/app?sslmode=prefer")
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyFull(cfg, filepath.Join(dir, certs.CACert)); err != nil {
		t.Fatal(err)
	}
	got := []string{fmt.Sprintf("%s:%d tls=%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port,
		cfg.ConnConfig.TLSConfig.ServerName)}
	for _, fb := range cfg.ConnConfig.Fallbacks {
		name := "none"
		if fb.TLSConfig != nil {
			name = fb.TLSConfig.ServerName
		}
		got = append(got, fmt.Sprintf("%s:%d tls=%s", fb.Host, fb.Port, name))
	}
	if want := "db1:5432 tls=db1,db2:5433 tls=db2"; strings.Join(got, ",") != want {
		t.Errorf("hosts = %s, want %s", strings.Join(got, ","), want)
	}
}

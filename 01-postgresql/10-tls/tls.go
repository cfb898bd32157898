package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// verifyFull is sslmode=verify-full spelled out: trust only the given CA,
// check each host's name, and drop the plain-text fallbacks that the
// default sslmode=prefer adds. Every host of a multi-host DATABASE_URL
// stays, each with its own ServerName.
func verifyFull(cfg *pgxpool.Config, caFile string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("read PG_CA_CERT: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("PG_CA_CERT %s holds no PEM certificate", caFile)
	}
	tlsFor := func(host string) *tls.Config {
		return &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	cc := &cfg.ConnConfig.Config
	cc.TLSConfig = tlsFor(cc.Host)
	seen := map[string]bool{net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))): true}
	var fallbacks []*pgconn.FallbackConfig
	for _, fb := range cc.Fallbacks {
		addr := net.JoinHostPort(fb.Host, strconv.Itoa(int(fb.Port)))
		if seen[addr] {
			continue // the plain-text twin of a host already tried with TLS
		}
		seen[addr] = true
		fallbacks = append(fallbacks, &pgconn.FallbackConfig{Host: fb.Host, Port: fb.Port, TLSConfig: tlsFor(fb.Host)})
	}
	cc.Fallbacks = fallbacks
	return nil
}

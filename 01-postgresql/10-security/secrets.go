package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// readPassword takes the password from the file DATABASE_PASSWORD_FILE names
// (how Docker and Kubernetes mount secrets), else from DATABASE_PASSWORD,
// else leaves the one in DATABASE_URL. Errors name the source, never the value.
func readPassword(getenv func(string) string) (Secret, string, error) {
	file, env := getenv("DATABASE_PASSWORD_FILE"), getenv("DATABASE_PASSWORD")
	switch {
	case file != "" && env != "":
		return "", "", errors.New("set DATABASE_PASSWORD_FILE or DATABASE_PASSWORD, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("read DATABASE_PASSWORD_FILE: %w", err)
		}
		// Editors and `echo` end a file with one newline: that one is not
		// part of the secret. Any other line break (a second newline, a
		// Windows \r) is refused rather than guessed at.
		p := strings.TrimSuffix(string(b), "\n")
		switch {
		case p == "":
			return "", "", fmt.Errorf("DATABASE_PASSWORD_FILE %s is empty", file)
		case strings.ContainsAny(p, "\r\n"):
			return "", "", fmt.Errorf("DATABASE_PASSWORD_FILE %s: a line break inside the password "+
				"(only one trailing newline is removed)", file)
		}
		return Secret(p), "file", nil
	case env != "":
		return Secret(env), "env", nil
	}
	return "", "url", nil
}

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

// Secret is a string that prints, logs and marshals as [REDACTED]; only
// Reveal returns the value, at the one place that needs it.
type Secret string

const redacted = "[REDACTED]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (s Secret) Reveal() string             { return string(s) }

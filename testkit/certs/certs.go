// Package certs generates the stack's development PKI: a CA, a server
// certificate for localhost (and the compose service names), and a client
// certificate for mutual TLS. `make up` writes it to .stack/certs; tests
// that need their own PKI call New.
//
// Standard library only. ECDSA P-256 keys, PEM files, keys mode 0600.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// DefaultHosts are the names the server certificate is valid for: loopback
// for native mode and the service names of docker-compose.yml.
func DefaultHosts() []string {
	return []string{
		"localhost", "127.0.0.1", "::1",
		"postgres", "postgres-replica", "pgbouncer",
	}
}

// File names inside the certificate folder.
const (
	CACert     = "ca.crt"
	CAKey      = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
	ClientCert = "client.crt"
	ClientKey  = "client.key"
)

// Bundle is a CA with one server and one client certificate, PEM-encoded.
type Bundle struct {
	CACert, CAKey         []byte
	ServerCert, ServerKey []byte
	ClientCert, ClientKey []byte
}

// New creates a CA and a server certificate for hosts (DNS names or IP
// addresses) and a client certificate with common name "client". They are
// valid for validity from one hour ago (clock skew).
func New(hosts []string, validity time.Duration) (*Bundle, error) {
	if len(hosts) == 0 {
		return nil, errors.New("certs: no hosts for the server certificate")
	}
	notBefore := time.Now().Add(-time.Hour)
	notAfter := notBefore.Add(validity)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "part4-infrastructure dev CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA: %w", err)
	}

	b := &Bundle{CACert: pemBlock("CERTIFICATE", caDER)}
	if b.CAKey, err = keyPEM(caKey); err != nil {
		return nil, err
	}

	server := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, h)
		}
	}
	if b.ServerCert, b.ServerKey, err = issue(server, ca, caKey); err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}

	client := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "client"},
		// A URI SAN (SPIFFE style) names the workload: services identify
		// clients by SAN, never by the CN (04-grpc/09-tls).
		URIs:        []*url.URL{{Scheme: "spiffe", Host: "part4-infrastructure", Path: "/client"}},
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if b.ClientCert, b.ClientKey, err = issue(client, ca, caKey); err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	return b, nil
}

// WriteDir writes the bundle's six files into dir (created 0755; keys 0600,
// certificates 0644).
func (b *Bundle) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{CACert, b.CACert, 0o644}, {CAKey, b.CAKey, 0o600},
		{ServerCert, b.ServerCert, 0o644}, {ServerKey, b.ServerKey, 0o600},
		{ClientCert, b.ClientCert, 0o644}, {ClientKey, b.ClientKey, 0o600},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		// WriteFile keeps the mode of an existing file; make it exact.
		if err := os.Chmod(p, f.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	return nil
}

// ServerTLS returns a server tls.Config with the server certificate. With
// mutual set it also requires a client certificate signed by the CA.
func (b *Bundle) ServerTLS(mutual bool) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(b.ServerCert, b.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("load server key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if mutual {
		cfg.ClientCAs = b.Pool()
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLS returns a client tls.Config that trusts the CA; with withCert
// it also presents the client certificate.
func (b *Bundle) ClientTLS(withCert bool) (*tls.Config, error) {
	cfg := &tls.Config{RootCAs: b.Pool(), MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.X509KeyPair(b.ClientCert, b.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("load client key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Pool is a certificate pool holding the CA.
func (b *Bundle) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CACert)
	return pool
}

// ReadDir loads a bundle written by WriteDir.
func ReadDir(dir string) (*Bundle, error) {
	b := &Bundle{}
	for name, dst := range map[string]*[]byte{
		CACert: &b.CACert, CAKey: &b.CAKey, ServerCert: &b.ServerCert,
		ServerKey: &b.ServerKey, ClientCert: &b.ClientCert, ClientKey: &b.ClientKey,
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read certificates: %w", err)
		}
		*dst = data
	}
	return b, nil
}

func issue(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certPEM, keyPEMBytes []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	k, err := keyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return pemBlock("CERTIFICATE", der), k, nil
}

func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+).
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// certReloader hands each TLS handshake the certificates currently in dir,
// reading the files again when one of them changed, so a renewed
// certificate (cert-manager, an ACME client, make up) is served without a
// restart. A renewal that cannot be loaded keeps the last good pair.
type certReloader struct {
	dir    string
	mutual bool

	mu    sync.Mutex
	stamp string // size and modification time of the files last loaded
	cfg   *tls.Config
}

func (r *certReloader) files() []string {
	f := []string{filepath.Join(r.dir, "server.crt"), filepath.Join(r.dir, "server.key")}
	if r.mutual {
		f = append(f, filepath.Join(r.dir, "ca.crt"))
	}
	return f
}

// current returns the config for the files as they are now.
func (r *certReloader) current() (*tls.Config, error) {
	var stamp string
	for _, f := range r.files() {
		if fi, err := os.Stat(f); err == nil {
			stamp += fmt.Sprintf("%s:%d:%d;", f, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg != nil && stamp == r.stamp {
		return r.cfg, nil
	}
	cfg, err := r.load()
	if err != nil {
		if r.cfg != nil {
			return r.cfg, nil // a half-written renewal: keep serving the last good one
		}
		return nil, err
	}
	r.cfg, r.stamp = cfg, stamp
	return cfg, nil
}

func (r *certReloader) load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(r.dir, "server.crt"), filepath.Join(r.dir, "server.key"))
	if err != nil {
		return nil, fmt.Errorf("load server certificate (run make up to create %s): %w", r.dir, err)
	}
	// NextProtos: gRPC needs ALPN "h2", which credentials.NewTLS adds to the
	// base config but not to a config returned per handshake.
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, NextProtos: []string{"h2"}}
	if r.mutual {
		pool, err := loadPool(filepath.Join(r.dir, "ca.crt"))
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Package pgproxy puts a Toxiproxy proxy, run in process, between a test and
// the stack's PostgreSQL, so the test can cut, slow down or reset the
// connection deterministically. Only tests import it.
package pgproxy

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy is one TCP proxy in front of a PostgreSQL server.
type Proxy struct {
	p *toxiproxy.Proxy
	// URL is the DSN it was made for, with host:port replaced by the proxy.
	// The TLS host name stays 127.0.0.1, so sslmode=verify-full still holds.
	URL string
}

// New starts a proxy on 127.0.0.1 in front of dsn's host:port and stops it
// when the test ends.
func New(t testing.TB, dsn string) *Proxy {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgproxy: parse dsn: %v", err)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", u.Host)
	if err := p.Start(); err != nil {
		t.Fatalf("pgproxy: start: %v", err)
	}
	t.Cleanup(p.Stop)
	_, port, err := net.SplitHostPort(p.Listen)
	if err != nil {
		t.Fatalf("pgproxy: listen address %q: %v", p.Listen, err)
	}
	u.Host = net.JoinHostPort("127.0.0.1", port)
	return &Proxy{p: p, URL: u.String()}
}

// Cut closes every connection through the proxy and refuses new ones, as a
// database that has gone away.
func (p *Proxy) Cut() { p.p.Stop() }

// Restore accepts connections again on the same address.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	if err := p.p.Start(); err != nil {
		t.Fatalf("pgproxy: restart: %v", err)
	}
}

// AddToxic adds a toxic, for example
// AddToxic(t, "slow", "latency", "downstream", `{"latency": 2000}`).
func (p *Proxy) AddToxic(t testing.TB, name, typ, stream, attributes string) {
	t.Helper()
	body := fmt.Sprintf(`{"name": %q, "type": %q, "stream": %q, "toxicity": 1, "attributes": %s}`,
		name, typ, stream, attributes)
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		t.Fatalf("pgproxy: add toxic %s: %v", name, err)
	}
}

// RemoveToxic removes a toxic added by AddToxic.
func (p *Proxy) RemoveToxic(ctx context.Context, name string) error {
	if err := p.p.Toxics.RemoveToxic(ctx, name); err != nil {
		return fmt.Errorf("pgproxy: remove toxic %s: %w", name, err)
	}
	return nil
}

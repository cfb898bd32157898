// Package faultproxy puts a TCP proxy, run in process with Toxiproxy,
// between a test and any endpoint of the stack (PostgreSQL, Redis, AMQP,
// NATS, Kafka, OTLP), so the test can cut, slow down, throttle or reset the
// connection deterministically, without a Toxiproxy server.
//
// Only tests import it: an example's main.go must build when copied out of
// the repository.
package faultproxy

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy is one TCP proxy on 127.0.0.1 in front of an upstream host:port.
type Proxy struct {
	p *toxiproxy.Proxy
}

// New starts a proxy on a free port of 127.0.0.1 in front of upstream
// (host:port) and stops it when the test ends.
func New(t testing.TB, upstream string) *Proxy {
	t.Helper()
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		t.Fatalf("faultproxy: upstream %q is not host:port: %v", upstream, err)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("faultproxy: start: %v", err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{p: p}
}

// ForURL starts a proxy in front of the host:port of a URL endpoint
// (postgres://, amqp://, nats://, http://) and returns it with the same URL
// pointing at the proxy. Credentials, path and query are kept; the host
// stays 127.0.0.1, so a TLS check against 127.0.0.1 still holds.
func ForURL(t testing.TB, rawURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		// The error of url.Parse quotes the URL, password included.
		t.Fatalf("faultproxy: endpoint is not a URL")
	}
	if u.Port() == "" {
		t.Fatalf("faultproxy: endpoint %s has no port", u.Redacted())
	}
	p := New(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// Addr is the proxy's listen address, 127.0.0.1:port.
func (p *Proxy) Addr() string {
	_, port, err := net.SplitHostPort(p.p.Listen)
	if err != nil {
		return p.p.Listen
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// Upstream is the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.p.Upstream }

// Cut closes every connection through the proxy and refuses new ones, as a
// server that has gone away or a network partition.
func (p *Proxy) Cut() { p.p.Stop() }

// Restore accepts connections again on the same address after Cut.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	if err := p.p.Start(); err != nil {
		t.Fatalf("faultproxy: restart: %v", err)
	}
}

// Latency delays every chunk sent from the server to the client by d
// (and jitter up to j) until the returned function is called or the test
// ends.
func (p *Proxy) Latency(t testing.TB, d, j time.Duration) (remove func()) {
	t.Helper()
	return p.add(t, "latency", "downstream",
		fmt.Sprintf(`{"latency": %d, "jitter": %d}`, d.Milliseconds(), j.Milliseconds()))
}

// Bandwidth limits the server-to-client stream to kbps kilobytes per
// second until the returned function is called or the test ends.
func (p *Proxy) Bandwidth(t testing.TB, kbps int) (remove func()) {
	t.Helper()
	return p.add(t, "bandwidth", "downstream", fmt.Sprintf(`{"rate": %d}`, kbps))
}

// ResetPeer makes every connection through the proxy end with a TCP RST
// after timeout (0: at once, on the next data) until the returned function
// is called or the test ends: a crashed peer or a middlebox dropping state.
func (p *Proxy) ResetPeer(t testing.TB, timeout time.Duration) (remove func()) {
	t.Helper()
	return p.add(t, "reset_peer", "upstream", fmt.Sprintf(`{"timeout": %d}`, timeout.Milliseconds()))
}

// Blackhole lets connections open but passes no data from the client to
// the server (Toxiproxy's "timeout" toxic with no timeout): requests hang,
// as behind a dead load balancer, until the returned function is called.
func (p *Proxy) Blackhole(t testing.TB) (remove func()) {
	t.Helper()
	return p.add(t, "timeout", "upstream", `{"timeout": 0}`)
}

// AddToxic adds any Toxiproxy toxic by type, stream ("upstream" is client
// to server, "downstream" server to client) and JSON attributes, e.g.
// AddToxic(t, "slow", "latency", "downstream", `{"latency": 2000}`).
func (p *Proxy) AddToxic(t testing.TB, name, typ, stream, attributes string) {
	t.Helper()
	body := fmt.Sprintf(`{"name": %q, "type": %q, "stream": %q, "toxicity": 1, "attributes": %s}`,
		name, typ, stream, attributes)
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		t.Fatalf("faultproxy: add toxic %s: %v", name, err)
	}
}

// RemoveToxic removes a toxic added by AddToxic.
func (p *Proxy) RemoveToxic(ctx context.Context, name string) error {
	if err := p.p.Toxics.RemoveToxic(ctx, name); err != nil {
		return fmt.Errorf("faultproxy: remove toxic %s: %w", name, err)
	}
	return nil
}

// add adds a toxic named after its type and returns an idempotent remover,
// also registered as a cleanup.
func (p *Proxy) add(t testing.TB, typ, stream, attrs string) func() {
	t.Helper()
	p.AddToxic(t, typ, typ, stream, attrs)
	removed := false
	remove := func() {
		if removed {
			return
		}
		removed = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.RemoveToxic(ctx, typ); err != nil {
			t.Errorf("%v", err)
		}
	}
	t.Cleanup(remove)
	return remove
}

package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
)

// Connect opens a NATS connection that survives a server restart: the first
// connect is retried like a reconnect, reconnects never give up, and what is
// published while disconnected waits in a buffer. closed is closed when the
// connection is closed for good (after Drain or Close). Later opts override.
func Connect(rawURL, name string, logf func(format string, args ...any),
	opts ...nats.Option) (nc *nats.Conn, closed <-chan struct{}, err error) {
	done := make(chan struct{})
	base := []nats.Option{
		nats.Name(name), // shown by the server's monitoring (connz)
		nats.Timeout(2 * time.Second),
		// Without it a server that is not up yet fails Connect at once.
		nats.RetryOnFailedConnect(true),
		// The default is 60 attempts (about 2 minutes), then the connection
		// closes for good and every later call fails: -1 retries forever.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		// Publishes during an outage are buffered up to this size, then fail.
		nats.ReconnectBufSize(8 << 20),
		nats.DrainTimeout(10 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logf("nats: disconnected: %v", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { logf("nats: reconnected to %s", c.ConnectedAddr()) }),
		nats.ClosedHandler(func(*nats.Conn) { close(done) }),
	}
	nc, err = nats.Connect(rawURL, append(base, opts...)...)
	if err != nil {
		// A URL that does not parse comes back as the *url.Error of url.Parse,
		// which quotes the whole URL, password included: say so without it.
		if uerr := (*url.Error)(nil); errors.As(err, &uerr) {
			return nil, nil, errors.New("connect nats: invalid NATS_URL")
		}
		return nil, nil, fmt.Errorf("connect nats: %w", err)
	}
	return nc, done, nil
}

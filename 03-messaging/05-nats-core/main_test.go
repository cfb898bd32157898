package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/go-course/part4-infrastructure/faultproxy"
	"github.com/go-course/part4-infrastructure/testkit"
)

func TestRun(t *testing.T) {
	t.Parallel()
	natsURL := testkit.Require(t, testkit.NATS)
	prefix := testkit.Name(t)
	var out strings.Builder
	getenv := testkit.Getenv(t, map[string]string{"NATS_URL": natsURL})
	if err := run(t.Context(), []string{"-prefix", prefix}, getenv, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	testkit.CheckReadme(t, 0, strings.ReplaceAll(out.String(), prefix, "demo"))
}

// TestRun_keeps_the_password_out_of_output: the server has no accounts and
// ignores credentials; the password must still appear in no output line.
func TestRun_keeps_the_password_out_of_output(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testkit.Require(t, testkit.NATS))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-Pa55w0rd"
	u.User = url.UserPassword("demo", secret)
	var out strings.Builder
	err = run(t.Context(), []string{"-prefix", testkit.Name(t)}, testkit.Getenv(t, map[string]string{"NATS_URL": u.String()}), &out)
	if strings.Contains(out.String(), secret) || (err != nil && strings.Contains(fmt.Sprintf("%v %+v", err, err), secret)) {
		t.Errorf("password leaked: %v\n%s", err, out.String())
	}
}

func connect(t *testing.T, rawURL string, opts ...nats.Option) (*nats.Conn, *testkit.Buffer) {
	t.Helper()
	var log testkit.Buffer
	logf := func(format string, a ...any) { fmt.Fprintf(&log, format+"\n", a...) }
	nc, _, err := Connect(rawURL, t.Name(), logf, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, &log
}

// TestConnect_retries_the_first_connect: with the server unreachable at
// start, Connect returns a connection that connects once the server is back.
func TestConnect_retries_the_first_connect(t *testing.T) {
	t.Parallel()
	p, proxied := faultproxy.ForURL(t, testkit.Require(t, testkit.NATS))
	p.Cut()
	nc, _ := connect(t, proxied, nats.ReconnectWait(20*time.Millisecond))
	if nc.IsConnected() {
		t.Fatal("connected through a cut proxy")
	}
	p.Restore(t)
	testkit.Eventually(t, 10*time.Second, func() error {
		if !nc.IsConnected() {
			return fmt.Errorf("status %v", nc.Status())
		}
		return nil
	})
}

// TestConnect_outlives_60_failed_reconnects: the default MaxReconnects (60)
// would close the connection for good; ours keeps trying, and what was
// published during the outage is delivered after it.
func TestConnect_outlives_60_failed_reconnects(t *testing.T) {
	t.Parallel()
	natsURL := testkit.Require(t, testkit.NATS)
	subject := testkit.Name(t)
	direct, _ := connect(t, natsURL)
	sub, err := direct.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := direct.Flush(); err != nil {
		t.Fatal(err)
	}

	p, proxied := faultproxy.ForURL(t, natsURL)
	var failed atomic.Int64
	nc, log := connect(t, proxied, nats.ReconnectWait(time.Millisecond), nats.ReconnectJitter(0, 0),
		nats.ReconnectErrHandler(func(*nats.Conn, error) { failed.Add(1) }))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := failed.Load(); n < 80 {
			return fmt.Errorf("%d failed reconnects so far (status %v)", n, nc.Status())
		}
		return nil
	})
	if err := nc.Publish(subject, []byte("during the outage")); err != nil {
		t.Fatalf("publish while reconnecting: %v (status %v)", err, nc.Status())
	}
	p.Restore(t)
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil || string(m.Data) != "during the outage" {
		t.Fatalf("after reconnect: %v %v, want the buffered message", m, err)
	}
	if !strings.Contains(log.String(), "nats: disconnected") || !strings.Contains(log.String(), "nats: reconnected to") {
		t.Errorf("handlers logged %q, want a disconnect and a reconnect", log.String())
	}
}

// TestRequestReply_failures_are_distinct: a silent responder is a timeout,
// no subscriber at all is ErrNoResponders at once.
func TestRequestReply_failures_are_distinct(t *testing.T) {
	t.Parallel()
	nc, _ := connect(t, testkit.Require(t, testkit.NATS))
	prefix := testkit.Name(t)
	lines, err := RequestReply(t.Context(), nc, prefix)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"request " + prefix + ".price: reply 42.00 EUR",
		"request " + prefix + ".silent: no reply within 200ms: context deadline exceeded",
		"request " + prefix + ".nobody: " + nats.ErrNoResponders.Error(),
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if _, err := nc.Request(prefix+".nobody", nil, 5*time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("Request to nobody = %v, want ErrNoResponders", err)
	}
}

// TestRun_malformed_NATS_URL_keeps_the_password_out: url.Parse errors quote
// the whole URL; run must fail without the password in its error chain.
func TestRun_malformed_NATS_URL_keeps_the_password_out(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pa55w0rd"
	err := run(t.Context(), []string{"-prefix", testkit.Name(t)}, testkit.Getenv(t, map[string]string{"NATS_URL": "nats://svc:" + secret + "@localhost:4222%"}), io.Discard)
	if err == nil {
		t.Fatal("run succeeded with a malformed NATS_URL")
	}
	testkit.NoSecret(t, err, secret)
	if !strings.Contains(err.Error(), "invalid NATS_URL") {
		t.Errorf("err = %v, want it to name NATS_URL", err)
	}
}

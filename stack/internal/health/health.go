// Package health checks each endpoint of the stack contract with the real
// client library: a round trip, not an open port. `make doctor` prints its
// results; native mode waits on them; the smoke tests go further.
package health

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
)

// Result is the outcome of one check.
type Result struct {
	Version string // what the server says it is, when it says
	Err     error
}

// Postgres connects to url with TLS verified against caFile (verify-full)
// and returns the server version. wantRecovery selects primary (false) or
// replica (true): connecting to the wrong one is an error.
func Postgres(ctx context.Context, dsn, caFile string, wantRecovery bool) Result {
	conn, err := connectPostgres(ctx, dsn, caFile)
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version string
	var recovery bool
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version'), pg_is_in_recovery()").Scan(&version, &recovery); err != nil {
		return Result{Err: fmt.Errorf("query: %w", err)}
	}
	if recovery != wantRecovery {
		role := map[bool]string{false: "primary", true: "replica"}
		return Result{Version: version, Err: fmt.Errorf("server is a %s, want a %s", role[recovery], role[wantRecovery])}
	}
	return Result{Version: "PostgreSQL " + strings.Fields(version)[0]}
}

func connectPostgres(ctx context.Context, dsn, caFile string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse url: %w", err)
	}
	if caFile != "" {
		tlsCfg, err := verifyFull(caFile, cfg.Host)
		if err != nil {
			return nil, err
		}
		cfg.TLSConfig = tlsCfg
		cfg.Fallbacks = nil
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// WALStreaming checks that the server at dsn (a replica, as a role that
// may read pg_stat_wal_receiver in full: a superuser) receives WAL from
// its primary right now: being in recovery is not enough, a replica that
// lost its primary is in recovery too and serves ever older data.
func WALStreaming(ctx context.Context, dsn, caFile string) error {
	conn, err := connectPostgres(ctx, dsn, caFile)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var status *string
	err = conn.QueryRow(ctx, "SELECT status FROM pg_stat_wal_receiver").Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return errors.New("no WAL receiver: the replica is not connected to its primary")
	}
	if err != nil {
		return fmt.Errorf("query pg_stat_wal_receiver: %w", err)
	}
	if status == nil {
		return errors.New("pg_stat_wal_receiver status hidden: check as a superuser")
	}
	if *status != "streaming" {
		return fmt.Errorf("WAL receiver is %s, want streaming", *status)
	}
	return nil
}

// ReplicaAdminURL is the superuser URL (adminURL's user, password and
// database) pointed at the replica's host and port.
func ReplicaAdminURL(replicaURL, adminURL string) (string, error) {
	r, err := url.Parse(replicaURL)
	if err != nil {
		return "", errors.New("parse replica url: invalid URL")
	}
	a, err := url.Parse(adminURL)
	if err != nil {
		return "", errors.New("parse admin url: invalid URL")
	}
	a.Host = r.Host
	return a.String(), nil
}

// PgBouncer runs a query through PgBouncer (simple protocol, which every
// pooling mode accepts) and reads its version from the admin console.
func PgBouncer(ctx context.Context, dsn string) Result {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return Result{Err: fmt.Errorf("parse url: %w", err)}
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return Result{Err: fmt.Errorf("connect: %w", err)}
	}
	var one int
	err = conn.QueryRow(ctx, "SELECT 1").Scan(&one)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return Result{Err: fmt.Errorf("query through pgbouncer: %w", err)}
	}
	// The admin console is the virtual database "pgbouncer"; app is a stats user.
	admin := cfg.Copy()
	admin.Database = "pgbouncer"
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return Result{Version: "?", Err: fmt.Errorf("admin console: %w", err)}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var version string
	if err := conn.QueryRow(ctx, "SHOW VERSION").Scan(&version); err != nil {
		return Result{Err: fmt.Errorf("show version: %w", err)}
	}
	return Result{Version: version}
}

// CA reads the CA certificate file and returns its subject and expiry.
func CA(path string) Result {
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{Err: fmt.Errorf("read: %w", err)}
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return Result{Err: errors.New("no PEM block in file")}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return Result{Err: fmt.Errorf("parse: %w", err)}
	}
	if time.Now().After(cert.NotAfter) {
		return Result{Err: fmt.Errorf("expired on %s", cert.NotAfter.Format(time.DateOnly))}
	}
	return Result{Version: "valid until " + cert.NotAfter.Format(time.DateOnly)}
}

// Redis sends PING and reads redis_version from INFO.
func Redis(ctx context.Context, addr string) Result {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 2 * time.Second})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return Result{Err: fmt.Errorf("ping: %w", err)}
	}
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return Result{Err: fmt.Errorf("info: %w", err)}
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return Result{Version: "Redis " + v}
		}
	}
	return Result{Version: "Redis"}
}

// Kafka asks the first broker for the cluster's brokers and API versions.
func Kafka(ctx context.Context, brokers string) Result {
	first, _, _ := strings.Cut(brokers, ",")
	d := kafka.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", strings.TrimSpace(first))
	if err != nil {
		return Result{Err: fmt.Errorf("dial: %w", err)}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	bs, err := conn.Brokers()
	if err != nil {
		return Result{Err: fmt.Errorf("metadata: %w", err)}
	}
	if _, err := conn.ApiVersions(); err != nil {
		return Result{Err: fmt.Errorf("api versions: %w", err)}
	}
	return Result{Version: fmt.Sprintf("Kafka protocol, %d broker(s)", len(bs))}
}

// AMQP opens a connection and a channel and reports the server product.
func AMQP(ctx context.Context, u string) Result {
	conn, err := amqp.DialConfig(u, amqp.Config{Dial: func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: 2 * time.Second}
		return d.DialContext(ctx, network, addr)
	}})
	if err != nil {
		return Result{Err: fmt.Errorf("dial: %w", err)}
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return Result{Err: fmt.Errorf("channel: %w", err)}
	}
	_ = ch.Close()
	return Result{Version: fmt.Sprintf("%v %v", conn.Properties["product"], conn.Properties["version"])}
}

// NATS connects and checks that JetStream answers.
func NATS(ctx context.Context, u string) Result {
	nc, err := nats.Connect(u, nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		return Result{Err: fmt.Errorf("connect: %w", err)}
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Result{Err: fmt.Errorf("jetstream: %w", err)}
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		return Result{Err: fmt.Errorf("jetstream account info: %w", err)}
	}
	return Result{Version: "NATS " + nc.ConnectedServerVersion() + " + JetStream"}
}

// OTLP posts an empty trace export request, which an OTLP/HTTP receiver
// accepts with 200.
func OTLP(ctx context.Context, endpoint string) Result {
	return post(ctx, strings.TrimRight(endpoint, "/")+"/v1/traces", "application/json", `{"resourceSpans":[]}`)
}

// Zipkin posts an empty span list, which a Zipkin receiver accepts.
func Zipkin(ctx context.Context, endpoint string) Result {
	return post(ctx, endpoint, "application/json", `[]`)
}

// JaegerQuery lists the services Jaeger knows.
func JaegerQuery(ctx context.Context, base string) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/services", http.NoBody)
	if err != nil {
		return Result{Err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{Err: fmt.Errorf("get /api/services: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Result{Err: fmt.Errorf("get /api/services: %s", resp.Status)}
	}
	return Result{Version: "Jaeger query API"}
}

func post(ctx context.Context, u, contentType, body string) Result {
	if _, err := url.Parse(u); err != nil {
		return Result{Err: fmt.Errorf("parse url: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return Result{Err: err}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{Err: fmt.Errorf("post: %w", err)}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 300 {
		return Result{Err: fmt.Errorf("post: %s %s", resp.Status, bytes.TrimSpace(msg))}
	}
	return Result{Version: "accepts spans"}
}

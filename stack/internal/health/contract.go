package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/go-course/part4-infrastructure/testkit"
)

// Check is one row of the stack contract with the check that proves it.
type Check struct {
	Service testkit.Service
	Label   string
	Run     func(ctx context.Context, endpoint string, getenv func(string) string) Result
}

// Contract returns a check for every endpoint of the stack contract, in the
// order of the README's table.
func Contract() []Check {
	ca := func(getenv func(string) string) string {
		if v := getenv(string(testkit.PostgresCA)); v != "" {
			return v
		}
		return testkit.Default(testkit.PostgresCA)
	}
	return []Check{
		{testkit.Postgres, "PostgreSQL primary (TLS verify-full)", func(ctx context.Context, ep string, getenv func(string) string) Result {
			return Postgres(ctx, ep, ca(getenv), false)
		}},
		{testkit.PostgresAdmin, "PostgreSQL superuser", func(ctx context.Context, ep string, getenv func(string) string) Result {
			return Postgres(ctx, ep, ca(getenv), false)
		}},
		{testkit.Replica, "PostgreSQL replica (TLS verify-full), WAL streaming", func(ctx context.Context, ep string, getenv func(string) string) Result {
			r := Postgres(ctx, ep, ca(getenv), true)
			if r.Err != nil {
				return r
			}
			admin := getenv(string(testkit.PostgresAdmin))
			if admin == "" {
				admin = testkit.Default(testkit.PostgresAdmin)
			}
			dsn, err := ReplicaAdminURL(ep, admin)
			if err == nil {
				err = WALStreaming(ctx, dsn, ca(getenv))
			}
			if err != nil {
				return Result{Version: r.Version, Err: err}
			}
			return Result{Version: r.Version + ", streaming"}
		}},
		{testkit.PgBouncer, "PgBouncer (transaction pooling)", func(ctx context.Context, ep string, _ func(string) string) Result {
			return PgBouncer(ctx, ep)
		}},
		{testkit.PostgresCA, "CA of the PostgreSQL certificate", func(_ context.Context, ep string, _ func(string) string) Result {
			return CA(ep)
		}},
		{testkit.Redis, "Redis", func(ctx context.Context, ep string, _ func(string) string) Result { return Redis(ctx, ep) }},
		{testkit.Kafka, "Kafka", func(ctx context.Context, ep string, _ func(string) string) Result { return Kafka(ctx, ep) }},
		{testkit.RabbitMQ, "RabbitMQ", func(ctx context.Context, ep string, _ func(string) string) Result { return AMQP(ctx, ep) }},
		{testkit.NATS, "NATS with JetStream", func(ctx context.Context, ep string, _ func(string) string) Result { return NATS(ctx, ep) }},
		{testkit.OTLP, "OTLP/HTTP into Jaeger", func(ctx context.Context, ep string, _ func(string) string) Result { return OTLP(ctx, ep) }},
		{testkit.JaegerQuery, "Jaeger query API", func(ctx context.Context, ep string, _ func(string) string) Result { return JaegerQuery(ctx, ep) }},
		{testkit.Zipkin, "Zipkin receiver (Jaeger)", func(ctx context.Context, ep string, _ func(string) string) Result { return Zipkin(ctx, ep) }},
	}
}

// verifyFull is sslmode=verify-full: the chain must lead to the CA in
// caFile and the certificate must name host.
func verifyFull(caFile, host string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("read CA %s: no certificate in file", caFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}, nil
}

// Package smoke proves every endpoint of the stack contract with a round
// trip through the real client: what make doctor reports, and more.
package smoke

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/stack/internal/health"
	"github.com/go-course/part4-infrastructure/testkit"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

func verifyFullConfig(t *testing.T, dsn string) *pgx.ConnConfig {
	t.Helper()
	caFile := testkit.Require(t, testkit.PostgresCA)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	cfg.TLSConfig = &tls.Config{RootCAs: pool, ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	cfg.Fallbacks = nil // verify-full: no plain-text fallback
	return cfg
}

func connect(t *testing.T, cfg *pgx.ConnConfig) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("connect %s: %v", cfg.Host, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestPostgresTLSVerifyFull(t *testing.T) {
	t.Parallel()
	conn := connect(t, verifyFullConfig(t, testkit.Require(t, testkit.Postgres)))
	var ssl bool
	var version, user string
	err := conn.QueryRow(t.Context(),
		"SELECT ssl, version, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl, &version, &user)
	if err != nil {
		t.Fatal(err)
	}
	if !ssl || !strings.HasPrefix(version, "TLSv1.") || user != "app" {
		t.Fatalf("pg_stat_ssl: ssl=%v version=%q user=%q; want TLS as app", ssl, version, user)
	}

	// The certificate must not verify for a name it was not issued for.
	wrong := verifyFullConfig(t, testkit.Endpoint(testkit.Postgres))
	wrong.TLSConfig.ServerName = "wrong.example"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if c, err := pgx.ConnectConfig(ctx, wrong); err == nil {
		_ = c.Close(ctx)
		t.Fatal("verify-full accepted a certificate for the wrong host name")
	}
}

func TestPostgresAppRoleAndExtensions(t *testing.T) {
	t.Parallel()
	conn := connect(t, verifyFullConfig(t, testkit.Require(t, testkit.Postgres)))
	var super, bypass bool
	if err := conn.QueryRow(t.Context(), "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass); err != nil {
		t.Fatal(err)
	}
	if super || bypass {
		t.Fatalf("app role: superuser=%v bypassrls=%v; want neither", super, bypass)
	}
	var calls int64
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_statements").Scan(&calls); err != nil {
		t.Fatalf("pg_stat_statements is not usable: %v", err)
	}
	var canReset bool
	err := conn.QueryRow(t.Context(), `SELECT coalesce(bool_and(has_function_privilege(oid, 'EXECUTE')), false)
		FROM pg_proc WHERE proname = 'pg_stat_statements_reset'`).Scan(&canReset)
	if err != nil || !canReset {
		t.Fatalf("app may not run pg_stat_statements_reset (init.sql grants it): %v, %v", canReset, err)
	}
}

func TestReplicaSeesPrimaryWrite(t *testing.T) {
	t.Parallel()
	primary := connect(t, verifyFullConfig(t, testkit.Require(t, testkit.Postgres)))
	replica := connect(t, verifyFullConfig(t, testkit.Require(t, testkit.Replica)))
	table := testkit.Name(t)
	ctx := t.Context()
	if _, err := primary.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, note text)", table)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = primary.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
	})
	if _, err := primary.Exec(ctx, fmt.Sprintf("INSERT INTO %s VALUES (1, 'written on the primary')", table)); err != nil {
		t.Fatal(err)
	}
	var inRecovery bool
	if err := replica.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
		t.Fatalf("replica: pg_is_in_recovery = %v, %v; want true", inRecovery, err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		var note string
		return replica.QueryRow(ctx, fmt.Sprintf("SELECT note FROM %s WHERE id = 1", table)).Scan(&note)
	})
	if _, err := replica.Exec(ctx, fmt.Sprintf("INSERT INTO %s VALUES (2, 'x')", table)); err == nil {
		t.Fatal("the replica accepted a write")
	}
}

func TestPgBouncerTransactionPooling(t *testing.T) {
	t.Parallel()
	cfg, err := pgx.ParseConfig(testkit.Require(t, testkit.PgBouncer))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	conn := connect(t, cfg)
	var db, user string
	if err := conn.QueryRow(t.Context(), "SELECT current_database(), current_user").Scan(&db, &user); err != nil {
		t.Fatal(err)
	}
	if db != "app" || user != "app" {
		t.Fatalf("through PgBouncer: database %q user %q, want app/app", db, user)
	}
	admin := cfg.Copy()
	admin.Database = "pgbouncer"
	console := connect(t, admin)
	rows, err := console.Query(t.Context(), "SHOW CONFIG")
	if err != nil {
		t.Fatal(err)
	}
	mode := ""
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(vals[0]) == "pool_mode" {
			mode = fmt.Sprint(vals[1])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if mode != "transaction" {
		t.Fatalf("pool_mode = %q, want transaction", mode)
	}
}

func TestRedisRoundTrip(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: testkit.Require(t, testkit.Redis)})
	t.Cleanup(func() { _ = rdb.Close() })
	key := testkit.Name(t)
	ctx := t.Context()
	if err := rdb.Set(ctx, key, "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	got, err := rdb.Get(ctx, key).Result()
	if err != nil || got != "v" {
		t.Fatalf("GET = %q, %v; want v", got, err)
	}
	if ttl := rdb.TTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL = %s, want (0, 1m]", ttl)
	}
}

func TestKafkaRoundTrip(t *testing.T) {
	t.Parallel()
	brokers := strings.Split(testkit.Require(t, testkit.Kafka), ",")
	topic := testkit.Name(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.DeleteTopics(topic)
		_ = conn.Close()
	})
	if err := conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}

	// A transport of its own: kafka-go's shared DefaultTransport caches
	// metadata, and a topic created a moment ago can be unknown to it.
	tr := &kafka.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, Transport: tr}
	msgs := []kafka.Message{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}, {Key: []byte("c"), Value: []byte("3")}}
	testkit.Eventually(t, 10*time.Second, func() error {
		err := w.WriteMessages(ctx, msgs...)
		if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
			t.Fatalf("write: %v", err)
		}
		return err
	})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, GroupID: topic, MinBytes: 1, MaxBytes: 1 << 20})
	defer r.Close()
	got := map[string]string{}
	for len(got) < len(msgs) {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(got), len(msgs), err)
		}
		got[string(m.Key)] = string(m.Value)
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if got["a"] != "1" || got["b"] != "2" || got["c"] != "3" {
		t.Fatalf("consumed %v", got)
	}
}

func TestRabbitMQRoundTrip(t *testing.T) {
	t.Parallel()
	conn, err := amqp.Dial(testkit.Require(t, testkit.RabbitMQ))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare(testkit.Name(t), false, true, true, false, nil) // exclusive: RabbitMQ 4.3 rejects transient non-exclusive queues
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q.Name, true, false, amqp.Publishing{Body: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := conf.WaitContext(ctx); err != nil || !ok {
		t.Fatalf("publisher confirm: ack=%v err=%v", ok, err)
	}
	deliveries, err := ch.ConsumeWithContext(ctx, q.Name, "", false, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-deliveries:
		if string(d.Body) != "hello" {
			t.Fatalf("body %q", d.Body)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no delivery within 10s")
	}
}

func TestNATSJetStreamRoundTrip(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(testkit.Require(t, testkit.NATS))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	name := testkit.Name(t)
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	// Publishing the same Nats-Msg-Id twice stores it once.
	for range 2 {
		if _, err := js.Publish(ctx, name+".orders", []byte("o-1"), jetstream.WithMsgID("o-1")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "smoke", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(10, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for m := range batch.Messages() {
		got = append(got, string(m.Data()))
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Error(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "o-1" {
		t.Fatalf("consumed %q, want exactly [o-1] (deduplicated)", got)
	}
}

// findTrace polls Jaeger's query API until a trace of service is stored.
func findTrace(t *testing.T, service, spanName string) {
	t.Helper()
	base := testkit.Require(t, testkit.JaegerQuery)
	u := strings.TrimRight(base, "/") + "/api/traces?service=" + url.QueryEscape(service) + "&lookback=1h&limit=5"
	testkit.Eventually(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body struct {
			Data []struct {
				Spans []struct {
					OperationName string `json:"operationName"`
				} `json:"spans"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return fmt.Errorf("decode %s: %w", resp.Status, err)
		}
		for _, tr := range body.Data {
			for _, s := range tr.Spans {
				if s.OperationName == spanName {
					return nil
				}
			}
		}
		return errors.New("trace not found yet")
	})
}

func exportSpan(t *testing.T, exp sdktrace.SpanExporter, service, spanName string) {
	t.Helper()
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	_, span := tp.Tracer("smoke").Start(t.Context(), spanName)
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
}

func TestJaegerReceivesOTLP(t *testing.T) {
	t.Parallel()
	ep := testkit.Require(t, testkit.OTLP)
	exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(strings.TrimRight(ep, "/")+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	service := testkit.Name(t)
	exportSpan(t, exp, service, "otlp-smoke")
	findTrace(t, service, "otlp-smoke")
}

// TestJaegerReceivesZipkin posts a span in Zipkin's v2 JSON format, as any
// Zipkin-instrumented service would.
func TestJaegerReceivesZipkin(t *testing.T) {
	t.Parallel()
	ep := testkit.Require(t, testkit.Zipkin)
	service := testkit.Name(t)
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	span := []map[string]any{{
		"traceId":       hex.EncodeToString(id),
		"id":            hex.EncodeToString(id[:8]),
		"name":          "zipkin-smoke",
		"kind":          "SERVER",
		"timestamp":     time.Now().UnixMicro(),
		"duration":      1500,
		"localEndpoint": map[string]string{"serviceName": service},
	}}
	body, err := json.Marshal(span)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", ep, resp.Status)
	}
	findTrace(t, service, "zipkin-smoke")
}

// TestDoctorContract runs the checks behind make doctor: every endpoint of
// the contract must be healthy.
func TestDoctorContract(t *testing.T) {
	t.Parallel()
	for _, c := range health.Contract() {
		t.Run(string(c.Service), func(t *testing.T) {
			ep := testkit.Require(t, c.Service)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			r := c.Run(ctx, ep, os.Getenv)
			if r.Err != nil {
				t.Fatalf("%s: %v", c.Label, r.Err)
			}
			if r.Version == "" {
				t.Fatalf("%s: no version reported", c.Label)
			}
		})
	}
}

package native

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-course/part4-infrastructure/stack/internal/health"
	"github.com/go-course/part4-infrastructure/testkit/certs"
)

func local(port int) string { return "localhost:" + strconv.Itoa(port) }

// pgRoot is where PostgreSQL and PgBouncer keep their files. They run as
// the postgres user, which must be able to reach the folder: .stack/pg when
// it can, else a folder under /var/lib named after this checkout.
func (s *Stack) pgRoot(ctx context.Context, t *toolset) (string, error) {
	if _, err := run(ctx, t.postgres, "/", nil, "/usr/bin/test", "-x", s.dir()); err == nil {
		return s.dir("pg"), nil
	}
	return s.varLibRoot(), nil
}

// varLibBase holds the PostgreSQL folders of checkouts the postgres user
// cannot reach (a home directory with mode 700).
const varLibBase = "/var/lib/part4-infrastructure"

// varLibRoot is this checkout's folder under varLibBase, named after the
// checkout's path so make clean finds it even without a state file.
func (s *Stack) varLibRoot() string {
	sum := sha256.Sum256([]byte(s.dir()))
	return filepath.Join(varLibBase, hex.EncodeToString(sum[:6]))
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	return os.Chmod(dst, mode)
}

// startPostgres starts the primary (initialising it once with the shared
// init SQL) and a streaming replica made from it with pg_basebackup.
func (s *Stack) startPostgres(ctx context.Context, st *State, t *toolset) error {
	root, err := s.pgRoot(ctx, t)
	if err != nil {
		return err
	}
	st.PGRoot = root
	confDir, certDir, runDir := filepath.Join(root, "conf"), filepath.Join(root, "certs"), filepath.Join(root, "run")
	for _, d := range []string{root, confDir, certDir, runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	// The shared configuration, copied where the postgres user can read it.
	for _, f := range []string{"postgresql.conf", "pg_hba.conf", "init.sql"} {
		if err := copyFile(filepath.Join(s.Root, "stack", "postgres", f), filepath.Join(confDir, f), 0o644); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{certs.CACert, 0o644}, {certs.ServerCert, 0o644}, {certs.ServerKey, 0o600}} {
		if err := copyFile(s.dir("certs", f.name), filepath.Join(certDir, f.name), f.mode); err != nil {
			return err
		}
	}
	if err := t.postgres.chown(root); err != nil {
		return err
	}

	primaryPort, err := st.port("postgres", 5432, 15432)
	if err != nil {
		return err
	}
	replicaPort, err := st.port("postgres-replica", 5433, 15433)
	if err != nil {
		return err
	}
	primary, replica := filepath.Join(root, "primary"), filepath.Join(root, "replica")
	env := append(baseEnv(), "PGPASSWORD=postgres")

	fresh := false
	if _, err := os.Stat(filepath.Join(primary, "PG_VERSION")); err != nil {
		fresh = true
		s.printf("postgres: initdb %s", primary)
		pw := filepath.Join(root, "pwfile")
		if err := os.WriteFile(pw, []byte("postgres\n"), 0o600); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if err := t.postgres.chown(pw); err != nil {
			return err
		}
		_, err := run(ctx, t.postgres, root, env, filepath.Join(t.pgBin, "initdb"), "--no-sync", "-D", primary,
			"-U", "postgres", "--pwfile="+pw, "--auth-local=trust", "--auth-host=scram-sha-256",
			"-E", "UTF8", "--locale=C.UTF-8")
		_ = os.Remove(pw)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(primary, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		_, err = f.WriteString("\n# The stack's settings (rewritten by every make up).\ninclude 'postgresql.stack.conf'\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if err := os.RemoveAll(replica); err != nil { // made from an older primary
			return fmt.Errorf("postgres: %w", err)
		}
	}
	stackConf := fmt.Sprintf(`# Native mode: the shared settings, then this machine's addresses and paths.
include '%s/postgresql.conf'
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
hba_file = '%s/pg_hba.conf'
ssl_cert_file = '%s/server.crt'
ssl_key_file = '%s/server.key'
ssl_ca_file = '%s/ca.crt'
`, confDir, primaryPort, runDir, confDir, certDir, certDir, certDir)
	if err := os.WriteFile(filepath.Join(primary, "postgresql.stack.conf"), []byte(stackConf), 0o644); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := t.postgres.chown(primary); err != nil {
		return err
	}

	p, err := spawn("postgres", t.postgres, root, baseEnv(), s.dir("logs", "postgres.log"), filepath.Join(t.pgBin, "postgres"), "-D", primary)
	if err != nil {
		return err
	}
	p.StopSignal = sigInt
	if err := st.add(p); err != nil {
		return err
	}
	isReady := func(port int) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := run(ctx, nil, "/", env, filepath.Join(t.pgBin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port))
			return err
		}
	}
	if err := waitHealthy(ctx, p, healthTimeout, isReady(primaryPort)); err != nil {
		return err
	}
	psql := func(args ...string) error {
		base := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", runDir, "-p", strconv.Itoa(primaryPort), "-U", "postgres", "-d", "postgres"}
		_, err := run(ctx, t.postgres, root, env, filepath.Join(t.pgBin, "psql"), append(base, args...)...)
		return err
	}
	marker := filepath.Join(primary, "stack-initialized")
	if _, err := os.Stat(marker); err != nil || fresh {
		if err := psql("-f", filepath.Join(confDir, "init.sql")); err != nil {
			return fmt.Errorf("postgres: init SQL: %w", err)
		}
		if err := os.WriteFile(marker, []byte("stack/postgres/init.sql applied\n"), 0o644); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}

	if _, err := os.Stat(filepath.Join(replica, "PG_VERSION")); err != nil {
		s.printf("postgres: base backup for the replica")
		if err := os.RemoveAll(replica); err != nil {
			return fmt.Errorf("postgres replica: %w", err)
		}
		if err := psql("-c", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'replica1'"); err != nil {
			return fmt.Errorf("postgres replica: %w", err)
		}
		if _, err := run(ctx, t.postgres, root, env, filepath.Join(t.pgBin, "pg_basebackup"),
			"-h", "127.0.0.1", "-p", strconv.Itoa(primaryPort), "-U", "postgres", "-D", replica,
			"-R", "-X", "stream", "-C", "-S", "replica1", "-c", "fast", "--no-sync"); err != nil {
			return fmt.Errorf("postgres replica: %w", err)
		}
	}
	// The replica reads the primary's copied settings; only its port differs
	// (the primary's port in its primary_conninfo is re-read below).
	if err := os.WriteFile(filepath.Join(replica, "postgresql.stack.conf"), []byte(stackConf), 0o644); err != nil {
		return fmt.Errorf("postgres replica: %w", err)
	}
	if err := t.postgres.chown(replica); err != nil {
		return err
	}
	r, err := spawn("postgres-replica", t.postgres, root, baseEnv(), s.dir("logs", "postgres-replica.log"),
		filepath.Join(t.pgBin, "postgres"), "-D", replica, "-c", "port="+strconv.Itoa(replicaPort),
		"-c", fmt.Sprintf("primary_conninfo=host=127.0.0.1 port=%d user=postgres password=postgres application_name=replica1", primaryPort))
	if err != nil {
		return err
	}
	r.StopSignal = sigInt
	if err := st.add(r); err != nil {
		return err
	}
	if err := waitHealthy(ctx, r, healthTimeout, isReady(replicaPort)); err != nil {
		return err
	}
	// Accepting connections is not enough: the replica must stream WAL.
	replicaAdmin := "postgres://postgres:postgres@" + local(replicaPort) + "/postgres"
	if err := waitHealthy(ctx, r, healthTimeout, func(ctx context.Context) error {
		return health.WALStreaming(ctx, replicaAdmin, s.dir("certs", certs.CACert))
	}); err != nil {
		return err
	}

	st.Env["DATABASE_URL"] = "postgres://app:app@" + local(primaryPort) + "/app"
	st.Env["DATABASE_ADMIN_URL"] = "postgres://postgres:postgres@" + local(primaryPort) + "/postgres"
	st.Env["DATABASE_REPLICA_URL"] = "postgres://app:app@" + local(replicaPort) + "/app"
	st.Env["PG_CA_CERT"] = s.dir("certs", certs.CACert)
	s.printf("postgres: primary on %d, replica on %d (%s)", primaryPort, replicaPort, filepath.Base(filepath.Dir(t.pgBin)))
	return nil
}

// startPgBouncer runs PgBouncer in transaction mode in front of the primary.
func (s *Stack) startPgBouncer(ctx context.Context, st *State, t *toolset) error {
	port, err := st.port("pgbouncer", 6432, 16432)
	if err != nil {
		return err
	}
	dir := filepath.Join(st.PGRoot, "pgbouncer")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pgbouncer: %w", err)
	}
	for _, f := range []struct{ src, dst string }{
		{"pgbouncer.ini", "pgbouncer.shared.ini"}, {"userlist.txt", "userlist.txt"},
	} {
		if err := copyFile(filepath.Join(s.Root, "stack", "pgbouncer", f.src), filepath.Join(dir, f.dst), 0o600); err != nil {
			return err
		}
	}
	pg := st.Ports["postgres"]
	certDir := filepath.Join(st.PGRoot, "certs")
	// The shared file comes first and opens [pgbouncer]; the paths follow.
	// (PgBouncer 1.18 rejects TLS files set before an %%include of settings
	// that enable client TLS.)
	ini := fmt.Sprintf(`;; Native mode: the shared settings, then this machine's addresses and paths.
[databases]
app = host=127.0.0.1 port=%[1]d dbname=app
app_single = host=127.0.0.1 port=%[1]d dbname=app pool_size=1

%%include %[3]s/pgbouncer.shared.ini

listen_addr = 127.0.0.1
listen_port = %[2]d
unix_socket_dir =
auth_file = %[3]s/userlist.txt
server_tls_ca_file = %[4]s/ca.crt
client_tls_cert_file = %[4]s/server.crt
client_tls_key_file = %[4]s/server.key
`, pg, port, dir, certDir)
	iniPath := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(iniPath, []byte(ini), 0o600); err != nil {
		return fmt.Errorf("pgbouncer: %w", err)
	}
	if err := t.postgres.chown(dir); err != nil {
		return err
	}
	p, err := spawn("pgbouncer", t.postgres, dir, baseEnv(), s.dir("logs", "pgbouncer.log"), t.pgbouncer, iniPath)
	if err != nil {
		return err
	}
	p.StopSignal = sigInt // safe shutdown: wait for transactions to end
	if err := st.add(p); err != nil {
		return err
	}
	url := "postgres://app:app@" + local(port) + "/app"
	if err := waitHealthy(ctx, p, healthTimeout, func(ctx context.Context) error { return health.PgBouncer(ctx, url).Err }); err != nil {
		return err
	}
	st.Env["PGBOUNCER_URL"] = url
	s.printf("pgbouncer: on %d (transaction pooling)", port)
	return nil
}

func (s *Stack) startRedis(ctx context.Context, st *State, t *toolset) error {
	port, err := st.port("redis", 6379, 16379)
	if err != nil {
		return err
	}
	dir := s.dir("redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	p, err := spawn("redis", nil, dir, baseEnv(), s.dir("logs", "redis.log"), t.redis,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no")
	if err != nil {
		return err
	}
	if err := st.add(p); err != nil {
		return err
	}
	addr := local(port)
	if err := waitHealthy(ctx, p, healthTimeout, func(ctx context.Context) error { return health.Redis(ctx, addr).Err }); err != nil {
		return err
	}
	st.Env["REDIS_ADDR"] = addr
	s.printf("redis: on %d", port)
	return nil
}

func (s *Stack) startNATS(ctx context.Context, st *State, t *toolset) error {
	port, err := st.port("nats", 4222, 14222)
	if err != nil {
		return err
	}
	monitor, err := st.port("nats-monitor", 8222, 18222)
	if err != nil {
		return err
	}
	p, err := spawn("nats", nil, s.dir(), baseEnv(), s.dir("logs", "nats.log"), t.nats,
		"-n", "part4-native", "-a", "127.0.0.1", "-p", strconv.Itoa(port),
		"-m", strconv.Itoa(monitor), "-js", "-sd", s.dir("nats"))
	if err != nil {
		return err
	}
	if err := st.add(p); err != nil {
		return err
	}
	url := "nats://" + local(port)
	if err := waitHealthy(ctx, p, healthTimeout, func(ctx context.Context) error { return health.NATS(ctx, url).Err }); err != nil {
		return err
	}
	st.Env["NATS_URL"] = url
	s.printf("nats: on %d with JetStream (monitoring on %d)", port, monitor)
	return nil
}

func (s *Stack) startKafka(ctx context.Context, st *State, t *toolset) error {
	port, err := st.port("kafka", 9092, 19092)
	if err != nil {
		return err
	}
	p, err := spawn("kafka", nil, s.dir(), baseEnv(), s.dir("logs", "kafka.log"), t.kafkaDev, "-port", strconv.Itoa(port))
	if err != nil {
		return err
	}
	if err := st.add(p); err != nil {
		return err
	}
	addr := local(port)
	if err := waitHealthy(ctx, p, healthTimeout, func(ctx context.Context) error { return health.Kafka(ctx, addr).Err }); err != nil {
		return err
	}
	st.Env["KAFKA_BROKERS"] = addr
	s.printf("kafka: dev broker (kfake) on %d", port)
	return nil
}

func (s *Stack) startJaeger(ctx context.Context, st *State, t *toolset) error {
	ports := map[string]int{}
	for _, k := range []struct {
		key  string
		std  int
		env  string
		port *int
	}{
		{key: "jaeger-otlp-grpc", std: 4317, env: "JAEGER_OTLP_GRPC_ENDPOINT"},
		{key: "jaeger-otlp-http", std: 4318, env: "JAEGER_OTLP_HTTP_ENDPOINT"},
		{key: "jaeger-zipkin", std: 9411, env: "JAEGER_ZIPKIN_ENDPOINT"},
		{key: "jaeger-query", std: 16686, env: "JAEGER_QUERY_HTTP_ENDPOINT"},
		{key: "jaeger-query-grpc", std: 16685, env: "JAEGER_QUERY_GRPC_ENDPOINT"},
		{key: "jaeger-health", std: 13133, env: "JAEGER_HEALTH_ENDPOINT"},
	} {
		p, err := st.port(k.key, k.std, k.std+10000)
		if err != nil {
			return err
		}
		ports[k.env] = p
	}
	env := baseEnv()
	for k, p := range ports {
		env = append(env, k+"=127.0.0.1:"+strconv.Itoa(p))
	}
	p, err := spawn("jaeger", nil, s.dir(), env, s.dir("logs", "jaeger.log"), t.jaeger,
		"--config", filepath.Join(s.Root, "stack", "jaeger", "config.yaml"))
	if err != nil {
		return err
	}
	if err := st.add(p); err != nil {
		return err
	}
	query := "http://" + local(ports["JAEGER_QUERY_HTTP_ENDPOINT"])
	otlp := "http://" + local(ports["JAEGER_OTLP_HTTP_ENDPOINT"])
	zipkin := "http://" + local(ports["JAEGER_ZIPKIN_ENDPOINT"]) + "/api/v2/spans"
	if err := waitHealthy(ctx, p, healthTimeout, func(ctx context.Context) error {
		if err := health.JaegerQuery(ctx, query).Err; err != nil {
			return err
		}
		if err := health.OTLP(ctx, otlp).Err; err != nil {
			return err
		}
		return health.Zipkin(ctx, zipkin).Err
	}); err != nil {
		return err
	}
	st.Env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
	st.Env["JAEGER_QUERY_URL"] = query
	st.Env["ZIPKIN_ENDPOINT"] = zipkin
	s.printf("jaeger: OTLP/HTTP %d, OTLP/gRPC %d, Zipkin %d, query API %d (%s)",
		ports["JAEGER_OTLP_HTTP_ENDPOINT"], ports["JAEGER_OTLP_GRPC_ENDPOINT"],
		ports["JAEGER_ZIPKIN_ENDPOINT"], ports["JAEGER_QUERY_HTTP_ENDPOINT"], JaegerVersion)
	return nil
}

// RabbitMQ: the machine's own broker when it answers as guest on 5672 (a
// vhost-free test suite shares it safely: every test names its queues
// uniquely), else a private node of Debian's rabbitmq-server.
const guestURL = "amqp://guest:guest@localhost:5672/"

func (s *Stack) startRabbitMQ(ctx context.Context, st *State, t *toolset) error {
	if os.Getenv("STACK_RABBITMQ") != "private" {
		if r := health.AMQP(ctx, guestURL); r.Err == nil {
			st.Env["AMQP_URL"] = guestURL
			st.Reused = append(st.Reused, "rabbitmq: the machine's own on 5672 ("+r.Version+")")
			s.printf("rabbitmq: reusing the running broker on 5672 (%s)", r.Version)
			return nil
		}
	}
	const server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	if _, err := os.Stat(server); err != nil {
		if err := aptInstall(ctx, s, "rabbitmq-server"); err != nil {
			return fmt.Errorf("rabbitmq: %w", err)
		}
		if r := health.AMQP(ctx, guestURL); r.Err == nil && os.Getenv("STACK_RABBITMQ") != "private" {
			st.Env["AMQP_URL"] = guestURL
			st.Reused = append(st.Reused, "rabbitmq: the package's service on 5672")
			return nil
		}
	}
	return s.startPrivateRabbitMQ(ctx, st, server)
}

func (s *Stack) startPrivateRabbitMQ(_ context.Context, st *State, server string) error {
	amqpPort, err := st.port("rabbitmq", 5672, 15672+20000)
	if err != nil {
		return err
	}
	dist, err := st.port("rabbitmq-dist", 25673, 35673)
	if err != nil {
		return err
	}
	epmdPort, err := st.port("rabbitmq-epmd", 4370, 14370)
	if err != nil {
		return err
	}
	ctl, err := st.port("rabbitmq-ctl", 35700, 0)
	if err != nil {
		return err
	}
	base := s.dir("rabbitmq")
	for _, d := range []string{filepath.Join(base, "mnesia"), filepath.Join(base, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("rabbitmq: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		return fmt.Errorf("rabbitmq: %w", err)
	}
	if err := os.WriteFile(filepath.Join(base, "rabbitmq.conf"), []byte("loopback_users.guest = true\n"), 0o644); err != nil {
		return fmt.Errorf("rabbitmq: %w", err)
	}
	env := append(baseEnv(),
		"HOME="+base,
		"RABBITMQ_NODENAME=part4@localhost",
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(amqpPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"ERL_EPMD_PORT="+strconv.Itoa(epmdPort),
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"RABBITMQ_CTL_DIST_PORT_MIN="+strconv.Itoa(ctl),
		"RABBITMQ_CTL_DIST_PORT_MAX="+strconv.Itoa(ctl+10),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(base, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(base, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(base, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(base, "rabbitmq.conf"),
	)
	// epmd first, in the foreground, so make down can stop it by pid.
	epmd, err := findEpmd()
	if err != nil {
		return err
	}
	e, err := spawn("rabbitmq-epmd", nil, base, env, s.dir("logs", "rabbitmq-epmd.log"), epmd,
		"-address", "127.0.0.1", "-port", strconv.Itoa(epmdPort))
	if err != nil {
		return err
	}
	if err := st.add(e); err != nil {
		return err
	}
	p, err := spawn("rabbitmq", nil, base, env, s.dir("logs", "rabbitmq.log"), server)
	if err != nil {
		return err
	}
	p.Exe = "" // the script execs the Erlang VM; recorded once healthy
	if err := st.add(p); err != nil {
		return err
	}
	st.Env["AMQP_URL"] = "amqp://guest:guest@" + local(amqpPort) + "/"
	s.printf("rabbitmq: private node starting on %d", amqpPort)
	return nil
}

func findEpmd() (string, error) {
	for _, pattern := range []string{"/usr/bin/epmd", "/usr/lib/erlang/erts-*/bin/epmd"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0], nil
		}
	}
	return "", fmt.Errorf("rabbitmq: epmd not found (apt-get install erlang-base)")
}

func (s *Stack) waitRabbitMQ(ctx context.Context, st *State, _ *toolset) error {
	for i, p := range st.Procs {
		if p.Name != "rabbitmq" {
			continue
		}
		url := st.Env["AMQP_URL"]
		if err := waitHealthy(ctx, p, rabbitmqTimeout, func(ctx context.Context) error { return health.AMQP(ctx, url).Err }); err != nil {
			return err
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.Pid)); err == nil {
			st.Procs[i].Exe = strings.TrimSuffix(exe, " (deleted)")
		}
		s.printf("rabbitmq: private node ready")
	}
	return nil
}

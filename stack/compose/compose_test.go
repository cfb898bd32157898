package compose

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// load parses a compose file with the compose-spec loader, as docker
// compose does, with bind-mount sources resolved to absolute paths. The
// process environment is not consulted, so the result is the same on every
// machine.
func load(t *testing.T, file string) *types.Project {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		t.Fatalf("options for %s: %v", file, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	project, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return project
}

func loadRepo(t *testing.T) *types.Project {
	t.Helper()
	return load(t, filepath.Join(repoRoot, "docker-compose.yml"))
}

// checkService applies the rules every service of the stack obeys: an image
// pinned to one release, a healthcheck that runs a command (docker compose
// up --wait waits for it), ports published on the loopback interface only.
func checkService(name string, s types.ServiceConfig) []error {
	var errs []error
	if err := checkImage(s.Image); err != nil {
		errs = append(errs, err)
	}
	if err := checkHealthcheck(s.HealthCheck); err != nil {
		errs = append(errs, err)
	}
	for _, p := range s.Ports {
		if p.HostIP != "127.0.0.1" {
			errs = append(errs, fmt.Errorf(
				"port %s is published on all interfaces; bind it to 127.0.0.1", p.Published))
		}
	}
	for i, err := range errs {
		errs[i] = fmt.Errorf("service %q: %w", name, err)
	}
	return errs
}

// checkImage accepts a tag that names a patch release: 1.2.3, optionally
// with a v prefix and a variant suffix (v1.25.2-p0, 4.2.9-management).
// PostgreSQL numbers its releases major.minor since version 10, so for its
// image 17.11-bookworm is exact and 17-bookworm is not.
func checkImage(image string) error {
	if image == "" {
		return errors.New("no image")
	}
	ref, _, _ := strings.Cut(image, "@")
	repo, tag := ref, ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	release := `\d+\.\d+\.\d+`
	if strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/"), "library/") == "postgres" {
		release = `\d+\.\d+`
	}
	exact := regexp.MustCompile(`^v?` + release + `([-.+_][0-9A-Za-z._-]+)?$`)
	switch {
	case tag == "":
		return fmt.Errorf("image %q has no tag; pin an exact version", image)
	case tag == "latest":
		return fmt.Errorf("image %q uses the floating tag latest; pin an exact version", image)
	case !exact.MatchString(tag):
		return fmt.Errorf("image %q is not pinned to a patch release (want a tag like 1.2.3 or 1.2.3-variant)", image)
	}
	return nil
}

func checkHealthcheck(hc *types.HealthCheckConfig) error {
	switch {
	case hc == nil:
		return errors.New("no healthcheck, so docker compose up --wait cannot tell when it is ready")
	case hc.Disable || (len(hc.Test) > 0 && hc.Test[0] == "NONE"):
		return errors.New("healthcheck is disabled")
	case len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL"):
		return fmt.Errorf("healthcheck test %q is not CMD or CMD-SHELL with a command", hc.Test)
	case strings.TrimSpace(strings.Join(hc.Test[1:], "")) == "":
		return errors.New("healthcheck test has an empty command")
	}
	return nil
}

func TestEveryServicePinnedAndHealthchecked(t *testing.T) {
	project := loadRepo(t)
	if project.Name != "part4-infrastructure" {
		t.Errorf("project name %q, want part4-infrastructure", project.Name)
	}
	if len(project.Services) == 0 {
		t.Fatal("no services")
	}
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		for _, err := range checkService(name, project.Services[name]) {
			t.Error(err)
		}
	}
}

func TestBrokenComposeFileRejected(t *testing.T) {
	project := load(t, filepath.Join("testdata", "broken.yml"))
	var got []string
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		for _, err := range checkService(name, project.Services[name]) {
			got = append(got, err.Error())
		}
	}
	want := []string{
		`service "disabled-healthcheck": healthcheck is disabled`,
		`service "empty-healthcheck": healthcheck test has an empty command`,
		`service "latest-image": image "nats:latest" uses the floating tag latest; pin an exact version`,
		`service "major-only-tag": image "rabbitmq:4-management" is not pinned to a patch release (want a tag like 1.2.3 or 1.2.3-variant)`,
		`service "no-healthcheck": no healthcheck, so docker compose up --wait cannot tell when it is ready`,
		`service "postgres-major-only": image "postgres:17-bookworm" is not pinned to a patch release (want a tag like 1.2.3 or 1.2.3-variant)`,
		`service "public-port": port 6380 is published on all interfaces; bind it to 127.0.0.1`,
		`service "untagged-image": image "postgres" has no tag; pin an exact version`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestContractPorts pins the host ports of the stack contract (DESIGN.md §2)
// and that no service is left out of it.
func TestContractPorts(t *testing.T) {
	contract := map[string][]string{ // service → published:container ports
		"postgres":         {"5432:5432"},
		"postgres-replica": {"5433:5432"},
		"pgbouncer":        {"6432:6432"},
		"redis":            {"6379:6379"},
		"kafka":            {"9092:9092"},
		"rabbitmq":         {"5672:5672", "15672:15672"},
		"nats":             {"4222:4222", "8222:8222"},
		"jaeger":           {"4317:4317", "4318:4318", "9411:9411", "16686:16686", "16685:16685"},
	}
	project := loadRepo(t)
	for _, name := range slices.Sorted(maps.Keys(contract)) {
		s, ok := project.Services[name]
		if !ok {
			t.Errorf("service %q of the contract is missing", name)
			continue
		}
		var got []string
		for _, p := range s.Ports {
			if p.Protocol != "tcp" {
				t.Errorf("service %q: port %s is %s, want tcp", name, p.Published, p.Protocol)
			}
			got = append(got, fmt.Sprintf("%s:%d", p.Published, p.Target))
		}
		want := contract[name]
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("service %q publishes %v, want %v", name, got, want)
		}
	}
	for name := range project.Services {
		if _, ok := contract[name]; !ok {
			t.Errorf("service %q is not in the contract table of this test", name)
		}
	}
}

// TestKafkaAdvertisesHostAddress: a client on the host bootstraps from
// localhost:9092 and then connects to what the broker advertises.
func TestKafkaAdvertisesHostAddress(t *testing.T) {
	env := loadRepo(t).Services["kafka"].Environment
	want := map[string]string{
		"KAFKA_ADVERTISED_LISTENERS":      "PLAINTEXT://localhost:9092",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE": "true",
		"KAFKA_PROCESS_ROLES":             "broker,controller",
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if v := env[key]; v == nil || *v != want[key] {
			t.Errorf("kafka %s = %v, want %q", key, deref(v), want[key])
		}
	}
}

func deref(v *string) string {
	if v == nil {
		return "<unset>"
	}
	return fmt.Sprintf("%q", *v)
}

func TestStartOrder(t *testing.T) {
	project := loadRepo(t)
	for service, dependency := range map[string]string{
		"postgres-replica": "postgres",
		"pgbouncer":        "postgres",
	} {
		dep, ok := project.Services[service].DependsOn[dependency]
		if !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("service %q must depend on %q with condition %s, got %+v",
				service, dependency, types.ServiceConditionHealthy, dep)
		}
	}
}

// binds returns a service's bind mounts as target → source relative to the
// repository root.
func binds(t *testing.T, s types.ServiceConfig) map[string]types.ServiceVolumeConfig {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.ServiceVolumeConfig{}
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		rel, err := filepath.Rel(root, v.Source)
		if err != nil {
			t.Fatal(err)
		}
		v.Source = filepath.ToSlash(rel)
		out[v.Target] = v
	}
	return out
}

// TestBindMounts: every file mounted from stack/ exists, every bind mount
// is read-only, and nothing outside stack/ is mounted but the certificates
// that make up writes.
func TestBindMounts(t *testing.T) {
	project := loadRepo(t)
	for _, name := range slices.Sorted(maps.Keys(project.Services)) {
		for target, v := range binds(t, project.Services[name]) {
			if !v.ReadOnly {
				t.Errorf("service %q: bind mount %s → %s is writable, want :ro", name, v.Source, target)
			}
			switch {
			case v.Source == ".stack/certs":
			case strings.HasPrefix(v.Source, "stack/"):
				fi, err := os.Stat(filepath.Join(repoRoot, v.Source))
				if err != nil {
					t.Errorf("service %q: mounted file: %v", name, err)
				} else if !fi.Mode().IsRegular() {
					t.Errorf("service %q: mounted %s is not a regular file", name, v.Source)
				}
			default:
				t.Errorf("service %q: bind mount of %s, outside stack/ and .stack/certs", name, v.Source)
			}
		}
	}
}

// TestSharedConfigMounted: compose runs the configuration files native mode
// uses, at the paths the images and the entrypoints read, so the two modes
// cannot drift apart.
func TestSharedConfigMounted(t *testing.T) {
	mounts := []struct{ service, source, target string }{
		{"postgres", "stack/postgres/compose-entrypoint.sh", "/usr/local/bin/compose-entrypoint.sh"},
		{"postgres", "stack/postgres/postgresql.conf", "/etc/postgresql/postgresql.conf"},
		{"postgres", "stack/postgres/pg_hba.conf", "/etc/postgresql/pg_hba.conf"},
		{"postgres", "stack/postgres/init.sql", "/docker-entrypoint-initdb.d/init.sql"},
		{"postgres", ".stack/certs", "/run/stack-certs"},
		{"postgres-replica", "stack/postgres/compose-entrypoint.sh", "/usr/local/bin/compose-entrypoint.sh"},
		{"postgres-replica", "stack/postgres/postgresql.conf", "/etc/postgresql/postgresql.conf"},
		{"postgres-replica", "stack/postgres/pg_hba.conf", "/etc/postgresql/pg_hba.conf"},
		{"postgres-replica", ".stack/certs", "/run/stack-certs"},
		{"pgbouncer", "stack/pgbouncer/compose-entrypoint.sh", "/usr/local/bin/compose-entrypoint.sh"},
		{"pgbouncer", "stack/pgbouncer/compose.ini", "/etc/pgbouncer/compose.ini"},
		{"pgbouncer", "stack/pgbouncer/pgbouncer.ini", "/etc/pgbouncer/pgbouncer.ini"},
		{"pgbouncer", "stack/pgbouncer/userlist.txt", "/etc/pgbouncer/userlist.txt"},
		{"pgbouncer", ".stack/certs", "/run/stack-certs"},
		{"jaeger", "stack/jaeger/config.yaml", "/etc/jaeger/config.yaml"},
	}
	project := loadRepo(t)
	for _, m := range mounts {
		v, ok := binds(t, project.Services[m.service])[m.target]
		if !ok || v.Source != m.source {
			t.Errorf("service %q must mount %s at %s, got %q", m.service, m.source, m.target, v.Source)
		}
	}

	entrypoints := map[string][]string{
		"postgres":         {"/bin/sh", "/usr/local/bin/compose-entrypoint.sh", "primary"},
		"postgres-replica": {"/bin/sh", "/usr/local/bin/compose-entrypoint.sh", "replica"},
		"pgbouncer":        {"/bin/sh", "/usr/local/bin/compose-entrypoint.sh"},
	}
	for _, name := range slices.Sorted(maps.Keys(entrypoints)) {
		if got := project.Services[name].Entrypoint; !slices.Equal(got, entrypoints[name]) {
			t.Errorf("service %q entrypoint %q, want %q", name, got, entrypoints[name])
		}
	}
	if got, want := project.Services["jaeger"].Command, []string{"--config", "/etc/jaeger/config.yaml"}; !slices.Equal(got, want) {
		t.Errorf("service jaeger command %q, want %q", got, want)
	}
}

// TestEntrypointsProvideConfiguredPaths reads the shared configuration for
// the file paths it names and checks each is provided in the container:
// mounted by compose, or installed by the service's entrypoint script.
func TestEntrypointsProvideConfiguredPaths(t *testing.T) {
	project := loadRepo(t)
	cases := []struct {
		service, config, script string
		paths                   *regexp.Regexp // the paths the config names
		installDir              string         // where the script installs certificates
	}{
		{
			service:    "postgres",
			config:     "stack/postgres/postgresql.conf",
			script:     "stack/postgres/compose-entrypoint.sh",
			paths:      regexp.MustCompile(`(?m)^\s*\w+_file\s*=\s*'([^']+)'`),
			installDir: "/var/lib/postgresql/certs",
		},
		{
			service:    "pgbouncer",
			config:     "stack/pgbouncer/compose.ini",
			script:     "stack/pgbouncer/compose-entrypoint.sh",
			paths:      regexp.MustCompile(`(/etc/pgbouncer/[\w./-]+)`),
			installDir: "/etc/pgbouncer/certs",
		},
	}
	for _, c := range cases {
		config := readRepoFile(t, c.config)
		script := readRepoFile(t, c.script)
		mounted := binds(t, project.Services[c.service])
		matches := c.paths.FindAllStringSubmatch(config, -1)
		if len(matches) == 0 {
			t.Errorf("%s names no file paths; the pattern of this test is stale", c.config)
		}
		for _, m := range matches {
			p := m[1]
			if _, ok := mounted[p]; ok {
				continue
			}
			installed := filepath.Dir(p) == c.installDir &&
				strings.Contains(script, "certs="+c.installDir+" ") &&
				strings.Contains(script, `"$certs/`+filepath.Base(p)+`"`)
			if !installed {
				t.Errorf("%s names %s, which service %q neither mounts nor installs (%s)",
					c.config, p, c.service, c.script)
			}
		}
	}

	// The postgres entrypoint starts the server with the mounted files.
	script := readRepoFile(t, "stack/postgres/compose-entrypoint.sh")
	for _, want := range []string{
		"-c config_file=/etc/postgresql/postgresql.conf",
		"-c hba_file=/etc/postgresql/pg_hba.conf",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("stack/postgres/compose-entrypoint.sh does not pass %q", want)
		}
	}
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A replica that lost its primary is still in recovery and still answers:
// its healthcheck must ask for a WAL receiver that streams right now.
func TestReplicaHealthyOnlyWhileStreaming(t *testing.T) {
	s, ok := loadRepo(t).Services["postgres-replica"]
	if !ok || s.HealthCheck == nil {
		t.Fatal("no postgres-replica service with a healthcheck")
	}
	test := strings.Join(s.HealthCheck.Test, " ")
	for _, want := range []string{"pg_is_in_recovery()", "FROM pg_stat_wal_receiver", "grep -qx streaming"} {
		if !strings.Contains(test, want) {
			t.Errorf("replica healthcheck lacks %q:\n%s", want, test)
		}
	}
	if strings.Contains(test, "||") {
		t.Errorf("replica healthcheck passes on either check alone:\n%s", test)
	}
}

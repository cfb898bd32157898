package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-course/part4-infrastructure/testkit/certs"
)

// toolset holds the binaries native mode runs.
type toolset struct {
	pgBin     string // /usr/lib/postgresql/NN/bin
	pgbouncer string
	redis     string
	nats      string
	jaeger    string
	kafkaDev  string
	postgres  *account
}

// debian packages native mode installs when their binaries are missing.
var debianPackages = []struct{ bin, pkg string }{
	{"/usr/lib/postgresql/*/bin/postgres", "postgresql"},
	{"/usr/sbin/pgbouncer", "pgbouncer"},
	{"/usr/bin/redis-server", "redis-server"},
}

func (s *Stack) ensureTools(ctx context.Context) (*toolset, error) {
	var missing []string
	for _, p := range debianPackages {
		if m, _ := filepath.Glob(p.bin); len(m) == 0 {
			missing = append(missing, p.pkg)
		}
	}
	if len(missing) > 0 {
		if err := aptInstall(ctx, s, missing...); err != nil {
			return nil, err
		}
	}
	t := &toolset{pgbouncer: "/usr/sbin/pgbouncer", redis: "/usr/bin/redis-server"}
	var err error
	if t.pgBin, err = newestPostgres(); err != nil {
		return nil, err
	}
	if t.postgres, err = lookupAccount("postgres"); err != nil {
		return nil, fmt.Errorf("%w (the postgresql package creates it)", err)
	}
	cache, err := cacheDir()
	if err != nil {
		return nil, err
	}
	if t.nats, err = s.goInstall(ctx, cache, "nats-server", NATSModule, NATSVersion, 3*time.Minute); err != nil {
		return nil, err
	}
	if t.jaeger, err = s.buildJaeger(ctx, cache); err != nil {
		return nil, err
	}
	t.kafkaDev = s.dir("bin", "kafka-dev")
	if _, err := run(ctx, nil, s.Root, os.Environ(), goBin(), "build", "-o", t.kafkaDev, "./stack/cmd/kafka-dev"); err != nil {
		return nil, fmt.Errorf("build the Kafka dev broker: %w", err)
	}
	return t, nil
}

// aptInstall installs Debian packages, non-interactively.
func aptInstall(ctx context.Context, s *Stack, pkgs ...string) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing %s and no apt-get: native mode supports Debian/Ubuntu; install them or use Docker", strings.Join(pkgs, ", "))
	}
	s.printf("installing Debian packages: %s", strings.Join(pkgs, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if _, err := run(ctx, nil, "/", env, "apt-get", "update", "-q"); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)
	if _, err := run(ctx, nil, "/", env, "apt-get", args...); err != nil {
		return fmt.Errorf("install %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}

func newestPostgres() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(matches) == 0 {
		return "", errors.New("no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)")
	}
	major := func(p string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return n
	}
	sort.Slice(matches, func(i, j int) bool { return major(matches[i]) > major(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

// cacheDir keeps Go-built servers between checkouts and make down/up.
func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	dir := filepath.Join(base, "part4-infrastructure", "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return dir, nil
}

func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// goInstall builds module@version's command into the cache once.
func (s *Stack) goInstall(ctx context.Context, cache, name, module, version string, budget time.Duration) (string, error) {
	bin := filepath.Join(cache, name+"-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	s.printf("building %s %s (once, cached in %s)", name, version, cache)
	tmp, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	env := append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if _, err := run(ctx, nil, tmp, env, goBin(), "install", "-trimpath", "-ldflags=-s -w", module+"@"+version); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if err := os.Rename(filepath.Join(tmp, name), bin); err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	return bin, nil
}

// buildJaeger builds Jaeger v2 from a copy of its module source: go install
// refuses a module with replace directives, and the copy keeps them.
func (s *Stack) buildJaeger(ctx context.Context, cache string) (string, error) {
	bin := filepath.Join(cache, "jaeger-"+JaegerVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	s.printf("building Jaeger %s from its module source (once: 6–20 min on 2 cores; cached in %s)", JaegerVersion, cache)
	ctx, cancel := context.WithTimeout(ctx, 40*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp(cache, ".jaeger-")
	if err != nil {
		return "", fmt.Errorf("build jaeger: %w", err)
	}
	defer os.RemoveAll(tmp)
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := run(ctx, nil, tmp, env, goBin(), "mod", "download", "-json", JaegerModule+"@"+JaegerVersion)
	if err != nil {
		return "", fmt.Errorf("download jaeger: %w", err)
	}
	var dl struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		return "", fmt.Errorf("download jaeger: decode go mod download: %w", err)
	}
	if dl.Dir == "" {
		return "", fmt.Errorf("download jaeger: no module dir: %s", dl.Error)
	}
	src := filepath.Join(tmp, "src")
	if _, err := run(ctx, nil, tmp, env, "cp", "-r", dl.Dir, src); err != nil {
		return "", fmt.Errorf("copy jaeger source: %w", err)
	}
	if _, err := run(ctx, nil, tmp, env, "chmod", "-R", "u+w", src); err != nil {
		return "", fmt.Errorf("copy jaeger source: %w", err)
	}
	env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=false")
	if _, err := run(ctx, nil, src, env, goBin(), "build", "-trimpath", "-ldflags=-s -w", "-o", bin+".tmp", "./cmd/jaeger"); err != nil {
		return "", fmt.Errorf("build jaeger: %w", err)
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		return "", fmt.Errorf("build jaeger: %w", err)
	}
	return bin, nil
}

// EnsureCerts creates the dev PKI in .stack/certs once; compose mounts it
// and native mode copies it.
func (s *Stack) EnsureCerts() error {
	dir := s.dir("certs")
	if _, err := os.Stat(filepath.Join(dir, certs.ServerKey)); err == nil {
		return nil
	}
	b, err := certs.New(certs.DefaultHosts(), certValidityDays*24*time.Hour)
	if err != nil {
		return fmt.Errorf("generate certificates: %w", err)
	}
	if err := b.WriteDir(dir); err != nil {
		return fmt.Errorf("generate certificates: %w", err)
	}
	s.printf("generated a dev CA and server/client certificates in .stack/certs")
	return nil
}

package containers

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose reads compose.yaml with the compose-spec loader, as docker
// compose does (the included root stack too), without the process
// environment, so the result is the same on every machine.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	abs, err := filepath.Abs("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	project, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return project
}

func TestCompose(t *testing.T) {
	p := loadCompose(t)
	app, err := p.GetService("app")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")

	t.Run("builds_the_dockerfile_from_the_repository_root", func(t *testing.T) {
		if app.Build == nil || app.Build.Context != root || app.Build.Dockerfile != "07-containers/Dockerfile" {
			t.Errorf("build: %+v, want context %s and dockerfile 07-containers/Dockerfile", app.Build, root)
		}
	})

	t.Run("waits_for_healthy_dependencies", func(t *testing.T) {
		for _, dep := range []string{"postgres", "redis", "jaeger"} {
			if _, err := p.GetService(dep); err != nil {
				t.Errorf("%s: not in the project (the include of the root stack): %v", dep, err)
			}
			if d, ok := app.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("depends_on %s: %+v, want condition service_healthy", dep, d)
			}
		}
	})

	t.Run("secrets_are_files_not_environment", func(t *testing.T) {
		for _, s := range []string{"db-password", "pg-ca"} {
			if !slices.ContainsFunc(app.Secrets, func(c types.ServiceSecretConfig) bool { return c.Source == s }) {
				t.Errorf("app does not mount secret %s", s)
			}
			if p.Secrets[s].File == "" {
				t.Errorf("secret %s is not a file", s)
			}
		}
		pw, err := os.ReadFile(p.Secrets["db-password"].File)
		if err != nil || strings.ContainsAny(string(pw), "\r\n") {
			t.Errorf("secrets/db-password: %q, %v (a newline becomes part of the password)", pw, err)
		}
		for k, v := range app.Environment {
			if strings.Contains(k, "PASSWORD") && !strings.HasSuffix(k, "_FILE") {
				t.Errorf("environment %s holds a secret", k)
			}
			if k == "DATABASE_URL" && v != nil && strings.Contains(*v, ":app@") {
				t.Errorf("DATABASE_URL carries the password")
			}
		}
	})

	t.Run("limits_and_hardening", func(t *testing.T) {
		if app.Deploy == nil || app.Deploy.Resources.Limits == nil {
			t.Fatal("no deploy.resources.limits")
		}
		lim := app.Deploy.Resources.Limits
		if lim.MemoryBytes == 0 || lim.NanoCPUs == 0 {
			t.Errorf("limits: %+v, want cpus and memory", lim)
		}
		// No Downward API in compose: MEMORY_LIMIT repeats the limit.
		if v := app.Environment["MEMORY_LIMIT"]; v == nil || *v != strconv.FormatInt(int64(lim.MemoryBytes), 10) {
			t.Errorf("MEMORY_LIMIT %v, memory limit %d", v, lim.MemoryBytes)
		}
		if !app.ReadOnly || !slices.Equal(app.CapDrop, []string{"ALL"}) ||
			!slices.Contains(app.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("want read_only, cap_drop [ALL], no-new-privileges")
		}
		if app.HealthCheck == nil || !slices.Equal(app.HealthCheck.Test, []string{"CMD", "/app", "healthcheck"}) {
			t.Errorf("healthcheck: want the binary's own subcommand (no curl in distroless)")
		}
		for _, port := range app.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("port %s published on all interfaces", port.Published)
			}
		}
	})

	t.Run("stop_grace_period_covers_the_drain", func(t *testing.T) {
		var budget time.Duration
		for _, k := range []string{"SHUTDOWN_DELAY", "SHUTDOWN_TIMEOUT"} {
			v := app.Environment[k]
			if v == nil {
				t.Fatalf("%s not set", k)
			}
			d, err := time.ParseDuration(*v)
			if err != nil {
				t.Fatal(err)
			}
			budget += d
		}
		budget += 5 * time.Second // trace flush
		if app.StopGracePeriod == nil || time.Duration(*app.StopGracePeriod) <= budget {
			t.Errorf("stop_grace_period %v, the drain needs %s", app.StopGracePeriod, budget)
		}
	})
}

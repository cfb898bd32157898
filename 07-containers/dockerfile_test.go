// Package containers holds the proofs of section 4.7 that need no Docker
// engine: the Dockerfile read by BuildKit's own parser, the binary of its
// builder stage run in an empty root filesystem, the compose file read by
// the compose-spec loader, and the image that cmd/image writes.
package containers

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// stage is one FROM of the Dockerfile with its instructions.
type stage struct {
	base, name string
	flags      []string
	instrs     []*parser.Node
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile warning: %s", w.Short)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			args := nodeArgs(n)
			s := stage{base: args[0], flags: n.Flags}
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				s.name = args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			continue // ARG before the first FROM
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, n)
	}
	return stages
}

func nodeArgs(n *parser.Node) []string {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args
}

func (s stage) find(instr string) []*parser.Node {
	var found []*parser.Node
	for _, n := range s.instrs {
		if strings.EqualFold(n.Value, instr) {
			found = append(found, n)
		}
	}
	return found
}

// goBuildRun is the RUN of the builder stage that runs go build.
func goBuildRun(t *testing.T, build stage) *parser.Node {
	t.Helper()
	for _, n := range build.find("run") {
		if strings.Contains(strings.Join(nodeArgs(n), " "), "go build") {
			return n
		}
	}
	t.Fatal("builder stage: no RUN with go build")
	return nil
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("want 2 stages (builder, runtime), got %d", len(stages))
	}
	build, final := stages[0], stages[1]

	t.Run("builder_is_a_pinned_go_release", func(t *testing.T) {
		if !regexp.MustCompile(`^golang:\d+\.\d+\.\d+-`).MatchString(build.base) {
			t.Errorf("builder FROM %s: want golang:X.Y.Z-<distro>, a tag that does not move", build.base)
		}
		if !slices.Contains(build.flags, "--platform=$BUILDPLATFORM") {
			t.Errorf("builder FROM flags %v: want --platform=$BUILDPLATFORM (cross-compile, no emulation)", build.flags)
		}
	})

	t.Run("builder_flags", func(t *testing.T) {
		run := goBuildRun(t, build)
		for _, m := range []string{"--mount=type=cache,target=/go/pkg/mod",
			"--mount=type=cache,target=/root/.cache/go-build"} {
			if !slices.Contains(run.Flags, m) {
				t.Errorf("go build RUN flags %v: want %s", run.Flags, m)
			}
		}
		cmd := strings.Join(nodeArgs(run), " ")
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=false",
			"-s -w", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}",
			"GOOS=$TARGETOS", "GOARCH=$TARGETARCH"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("go build command lacks %s: %s", want, cmd)
			}
		}
	})

	t.Run("final_stage_is_distroless_nonroot", func(t *testing.T) {
		base, _, _ := strings.Cut(final.base, "@sha256:")
		if base != "gcr.io/distroless/static-debian12:nonroot" {
			t.Errorf("final FROM %s", final.base)
		}
		users := final.find("user")
		if len(users) == 0 || nodeArgs(users[len(users)-1])[0] != "65532:65532" {
			t.Errorf("final stage USER: want 65532:65532 (numeric, for runAsNonRoot)")
		}
		copies := final.find("copy")
		if len(copies) != 1 || !slices.Contains(copies[0].Flags, "--from=build") {
			t.Errorf("final stage: want exactly one COPY --from=build (the binary)")
		}
	})

	t.Run("no_remote_add", func(t *testing.T) {
		for _, s := range stages {
			for _, n := range s.find("add") {
				for _, a := range nodeArgs(n) {
					if strings.Contains(a, "://") || strings.HasPrefix(a, "git@") {
						t.Errorf("line %d: ADD %s fetches at build time, unverified", n.StartLine, a)
					}
				}
			}
		}
	})

	t.Run("exec_form_entrypoint_and_healthcheck", func(t *testing.T) {
		ep := final.find("entrypoint")
		if len(ep) != 1 || !ep[0].Attributes["json"] || !slices.Equal(nodeArgs(ep[0]), []string{"/app"}) {
			t.Errorf(`ENTRYPOINT: want exec form ["/app"] (no shell in distroless; PID 1 gets SIGTERM)`)
		}
		hc := final.find("healthcheck")
		if len(hc) != 1 || !hc[0].Attributes["json"] ||
			!slices.Equal(nodeArgs(hc[0]), []string{"CMD", "/app", "healthcheck"}) {
			t.Errorf(`HEALTHCHECK: want CMD ["/app", "healthcheck"]`)
		}
	})
}

// The ignore file keeps secrets, VCS data and local state out of the build
// context and lets in what the builder stage compiles.
func TestDockerignore(t *testing.T) {
	f, err := os.Open("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{ // path in the context → excluded
		".git/HEAD":                         true,
		".stack/env":                        true,
		".stack/certs/ca.key":               true,
		"07-containers/.stack/env":          true,
		"01-postgresql/go.mod":              true,
		"07-containers/app/main_test.go":    true,
		"07-containers/k8s/base/app.yaml":   true,
		"07-containers/secrets/db-password": true,
		"07-containers/go.mod":              false,
		"07-containers/go.sum":              false,
		"07-containers/app/main.go":         false,
		"testkit/go.mod":                    false,
		"faultproxy/go.mod":                 false,
	}
	for path, excluded := range cases {
		got, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != excluded {
			t.Errorf("%s excluded = %v, want %v", path, got, excluded)
		}
	}
}

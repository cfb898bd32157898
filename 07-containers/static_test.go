package containers

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

// buildLikeDockerfile runs the builder stage's go build command, taken
// from the Dockerfile itself, with the build args substituted, and returns
// the binary's path.
func buildLikeDockerfile(t *testing.T, out string) {
	t.Helper()
	build := parseDockerfile(t)[0]
	run := goBuildRun(t, build)
	vars := map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH,
		"VERSION": "1.2.3-static", "COMMIT": "feedbee"}
	words := shellWords(os.Expand(strings.Join(nodeArgs(run), " "), func(k string) string { return vars[k] }))
	var env []string
	for len(words) > 0 && strings.Contains(words[0], "=") {
		env = append(env, words[0])
		words = words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("builder RUN is not [VAR=value...] go build ...: %q", words)
	}
	for i, w := range words {
		if w == "-o" && i+1 < len(words) {
			words[i+1] = out
		}
	}
	cmd := exec.CommandContext(t.Context(), "go", words[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// WORKDIR of the builder is /src/07-containers: this module's folder.
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(words, " "), err, b)
	}
}

// shellWords splits a command line the way sh does for this simple case:
// blanks separate words, double quotes group and are removed.
func shellWords(s string) []string {
	var words []string
	var b strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			if in {
				words = append(words, b.String())
				b.Reset()
				in = false
			}
		default:
			b.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, b.String())
	}
	return words
}

// The builder's binary is static (no ELF interpreter, no shared
// libraries) and runs in a root filesystem that holds only itself, the CA
// bundle and /etc/passwd — what distroless/static gives it — as uid 65532,
// serving /livez and passing its own healthcheck subcommand.
func TestStaticBinaryInEmptyRoot(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "app")
	buildLikeDockerfile(t, bin)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("binary has an ELF interpreter: dynamically linked, needs libc")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	if syms, _ := f.Symbols(); len(syms) > 0 {
		t.Errorf("binary keeps %d symbols: -s -w did not apply", len(syms))
	}
	f.Close()
	// time/tzdata is linked in: an empty base has no /usr/share/zoneinfo.
	if b, err := os.ReadFile(bin); err != nil || !bytes.Contains(b, []byte("Europe/Berlin")) {
		t.Errorf("binary holds no zone database (import _ \"time/tzdata\"): %v", err)
	}

	if os.Geteuid() != 0 {
		t.Skip("chroot needs root: run the tests as root to run the binary in an empty root")
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/ssl/certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("CA bundle of the host: %v", err)
	}
	files := map[string]string{
		"etc/ssl/certs/ca-certificates.crt": string(ca),
		"etc/passwd":                        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}

	chrooted := func(ctx context.Context, env []string, args ...string) *exec.Cmd {
		return chrooted(ctx, root, env, args...)
	}

	out, err := chrooted(t.Context(), nil, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "app 1.2.3-static (commit feedbee, go") {
		t.Fatalf("app version in the empty root: %q, %v", out, err)
	}

	addr := freeAddr(t)
	// No dependency is needed to live: the endpoints point nowhere.
	env := []string{"HTTP_ADDR=" + addr, "SHUTDOWN_DELAY=0s",
		"DATABASE_URL=postgres://app@127.0.0.1:1/app", "REDIS_ADDR=127.0.0.1:1",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1"}
	srv := chrooted(context.Background(), env)
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("app in the empty root: exit %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
			t.Errorf("app in the empty root ignored SIGTERM")
		}
	})
	testkit.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/livez")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/livez: %s", resp.Status)
		}
		return nil
	})
	out, err = chrooted(t.Context(), []string{"HTTP_ADDR=" + addr}, "healthcheck").CombinedOutput()
	if err != nil || string(out) != "livez: 200 ok\n" {
		t.Errorf("app healthcheck in the empty root: %q, %v", out, err)
	}
}

// chrooted runs /app of root with root as its root directory, as uid and
// gid 65532 (what USER 65532:65532 does in a container).
func chrooted(ctx context.Context, root string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "/app", args...)
	cmd.Path = "/app" // resolved inside the new root, not on the host
	cmd.Dir = "/"
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root,
		Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

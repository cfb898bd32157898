package containers

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/07-containers/ociimage"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image of cmd/image, read back from its tarball the way docker load
// reads it: a config for uid 65532 with an exec-form entrypoint, OCI media
// types, only the expected files (no shell), a size close to the
// binary's, and a root filesystem in which the app runs.
func TestImageWithoutDocker(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	buildLikeDockerfile(t, bin)
	app, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	img, err := ociimage.Build(ociimage.Files{App: app, CABundle: ca}, runtime.GOARCH, "1.2.3-static")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app-image.tar")
	if err := ociimage.Write(path, "part4/app:test", img); err != nil {
		t.Fatal(err)
	}

	// docker load reads manifest.json: the tag and the config blob.
	tag, _ := name.NewTag("part4/app:test")
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil || len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"index.docker.io/part4/app:test"}) &&
		!slices.Equal(m[0].RepoTags, []string{"part4/app:test"}) {
		t.Fatalf("manifest.json: %+v, %v", m, err)
	}
	loaded, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	// The image itself is OCI (a registry push keeps these types); the
	// docker-save format of the tarball holds no manifest, only the config.
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", mt)
	}
	if ls, _ := img.Layers(); len(ls) != 1 {
		t.Errorf("want one layer, got %d", len(ls))
	} else if mt, _ := ls[0].MediaType(); mt != types.OCILayer {
		t.Errorf("layer media type %s, want OCI", mt)
	}
	cf, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (numeric: runAsNonRoot can check it)", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/app"}) || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want exec form [/app] and no shell", c.Entrypoint, c.Cmd)
	}
	if c.Healthcheck == nil || !slices.Equal(c.Healthcheck.Test, []string{"CMD", "/app", "healthcheck"}) {
		t.Errorf("healthcheck %+v", c.Healthcheck)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	// Files: exactly the binary, the CA bundle, passwd/group and a few
	// directories. No /bin/sh: a shell in the image is an attacker's tool.
	root := filepath.Join(dir, "rootfs")
	files := extract(t, mutate.Extract(loaded), root)
	want := []string{"app", "etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs",
		"etc/ssl/certs/ca-certificates.crt", "home", "home/nonroot", "tmp"}
	if !slices.Equal(files, want) {
		t.Errorf("image files:\n%q\nwant\n%q", files, want)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot 65532:\n%s", passwd)
	}

	// Size: the layer is the binary plus ~200 KB of certificates; the
	// compressed image is what a node pulls.
	size, err := loaded.Size()
	if err != nil {
		t.Fatal(err)
	}
	var layers int64
	ls, _ := loaded.Layers()
	for _, l := range ls {
		n, _ := l.Size()
		layers += n
	}
	t.Logf("binary %d bytes, compressed layers %d bytes, manifest %d bytes", len(app), layers, size)
	if layers > int64(len(app)) || layers < int64(len(app))/4 {
		t.Errorf("compressed layers %d bytes for a %d-byte binary", layers, len(app))
	}

	if os.Geteuid() != 0 {
		t.Skip("chroot needs root: run the tests as root to run the image's root filesystem")
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := chrooted(t.Context(), root, nil, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "app 1.2.3-static (commit feedbee") {
		t.Errorf("app version in the image's root filesystem: %q, %v", out, err)
	}
}

// extract writes a flattened image filesystem to dir and returns its paths.
func extract(t *testing.T, rc io.ReadCloser, dir string) []string {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, os.FileMode(h.Mode)&os.ModePerm); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode)&os.ModePerm)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Errorf("unexpected entry %s (type %c)", h.Name, h.Typeflag)
		}
	}
	slices.Sort(names)
	return names
}

// image.sh builds the binary with the same flags as the Dockerfile.
func TestImageScriptBuildsLikeDockerfile(t *testing.T) {
	script, err := os.ReadFile("image.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"CGO_ENABLED=0", "GOWORK=off", "-trimpath", "-buildvcs=false",
		`-ldflags="-s -w -X main.version=${version} -X main.commit=${commit}"`} {
		if !strings.Contains(string(script), flag) {
			t.Errorf("image.sh lacks %s", flag)
		}
	}
}

// Package ociimage assembles the app's container image without Docker: a
// static binary, the CA bundle and an /etc/passwd naming uid 65532 on an
// empty base, with OCI media types, written as a tarball `docker load`
// reads. It is what distroless/static holds, built with
// go-containerregistry.
package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Nonroot is distroless's unprivileged user; numeric in the config, so
// Kubernetes' runAsNonRoot can verify it.
const Nonroot = "65532:65532"

// Files are the contents of the image besides the binary.
type Files struct {
	App      []byte // the static binary, at /app
	CABundle []byte // at /etc/ssl/certs/ca-certificates.crt
}

// Build returns the image for arch (runtime.GOARCH values).
func Build(f Files, arch, version string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// A fixed time in every header and in the config: the same inputs give
	// the same digest (a reproducible image).
	epoch := time.Unix(0, 0).UTC()
	entries := []struct {
		name string
		mode int64
		uid  int
		body []byte // nil for a directory
	}{
		{"etc/", 0o755, 0, nil},
		{"etc/passwd", 0o644, 0, []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{"etc/group", 0o644, 0, []byte("root:x:0:\nnonroot:x:65532:\n")},
		{"etc/ssl/", 0o755, 0, nil},
		{"etc/ssl/certs/", 0o755, 0, nil},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, 0, f.CABundle},
		{"home/", 0o755, 0, nil},
		{"home/nonroot/", 0o700, 65532, nil},
		{"tmp/", 0o1777, 0, nil},
		{"app", 0o755, 0, f.App},
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: epoch,
			Typeflag: tar.TypeDir, Format: tar.FormatPAX}
		if e.body != nil {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("layer %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	layerTar := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", arch, v1.Time{Time: epoch}
	cf.Config = v1.Config{
		User:         Nonroot,
		Entrypoint:   []string{"/app"}, // exec form: no shell in the image
		WorkingDir:   "/",
		Env:          []string{"PATH=/"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/app", "healthcheck"},
			Interval: 10 * time.Second, Timeout: 3 * time.Second, Retries: 3},
		Labels: map[string]string{"org.opencontainers.image.version": version},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return img, nil
}

// Write writes img as a tarball with manifest.json, the format of
// `docker save`, so `docker load -i path` imports it under tag.
func Write(path, tag string, img v1.Image) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

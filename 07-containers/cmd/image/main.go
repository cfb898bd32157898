// Command image writes the app's OCI image as a tarball without a Docker
// daemon: the binary built by image.sh, the CA bundle of the build
// machine and an /etc/passwd for uid 65532. Load it with docker load -i,
// push it with crane push, or hand it to kind load image-archive.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/go-course/part4-infrastructure/07-containers/ociimage"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	bin := fs.String("binary", "", "the static binary of the app (required)")
	ca := fs.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include")
	out := fs.String("o", "app-image.tar", "tarball to write")
	tag := fs.String("tag", "part4/app:dev", "tag docker load gives the image")
	arch := fs.String("arch", runtime.GOARCH, "architecture the binary was built for")
	version := fs.String("version", "dev", "value of the org.opencontainers.image.version label")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		return fmt.Errorf("-binary is required")
	}
	app, err := os.ReadFile(*bin)
	if err != nil {
		return fmt.Errorf("read binary: %w", err)
	}
	bundle, err := os.ReadFile(*ca)
	if err != nil {
		return fmt.Errorf("read CA bundle: %w", err)
	}
	img, err := ociimage.Build(ociimage.Files{App: app, CABundle: bundle}, *arch, *version)
	if err != nil {
		return err
	}
	if err := ociimage.Write(*out, *tag, img); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %s %s\n", *out, *tag, digest)
	return nil
}

package main

import (
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// BenchmarkLoad loads the same config — file, two variables, one flag,
// secret file, validation — with each loader.
func BenchmarkLoad(b *testing.B) {
	testkit.UnsetPrefix(b, "APP_")
	dir := b.TempDir()
	path := writeYAML(b, dir, []string{"url: postgres://app@localhost:5432/app",
		"password_file: " + writeSecret(b, dir, "pw")},
		[]string{"http:", "  read_timeout: 5s", "allowed_origins: [https://example.com]", "log_level: info"})
	b.Setenv("APP_HTTP_PORT", "9090")
	b.Setenv("APP_BETA", "true")
	args := []string{"--config", path, "--log-level=debug"}
	for _, l := range loaders() {
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := l.load(args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

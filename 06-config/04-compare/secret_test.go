package main

import (
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// TestSecretIsRedactedInEveryFormat: the password never shows, whichever
// way the config or the secret is printed, logged or encoded.
func TestSecretIsRedactedInEveryFormat(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-Pa55-9f2c"
	var cfg Config
	cfg.DB.Password = Secret(pw)
	testkit.Redacted(t, pw, cfg, cfg.DB.Password)
}

// TestSecretFilePolicy: the repository's one rule for secret files — one
// trailing newline (echo, editors) is dropped, any other line break and an
// empty file are errors that name the file, never its content.
func TestSecretFilePolicy(t *testing.T) {
	testkit.UnsetPrefix(t, "APP_") // viper and envconfig read the process environment
	testkit.SecretFilePolicy(t, loadSecretFile, func(path string) string { return path + " " })
}

// loadSecretFile loads a whole config with the password in path, with
// every loader, and checks they agree.
func loadSecretFile(t *testing.T, path string) (string, error) {
	cfgPath := writeYAML(t, t.TempDir(), []string{"url: postgres://app@localhost:5432/app", "password_file: " + path}, nil)
	var first Config
	var firstErr error
	for i, l := range loaders() {
		cfg, err := l.load([]string{"--config", cfgPath})
		if i == 0 {
			first, firstErr = cfg, err
			continue
		}
		if cfg.DB.Password != first.DB.Password || (err == nil) != (firstErr == nil) {
			t.Errorf("%s disagrees: %q, %v", l.name, string(cfg.DB.Password), err)
		}
	}
	return string(first.DB.Password), firstErr
}

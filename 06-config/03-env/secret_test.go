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
	t.Parallel()
	testkit.SecretFilePolicy(t, loadSecretFile, func(string) string { return "APP_DB_PASSWORD_FILE: the file " })
}

// loadSecretFile loads a whole config with the password in path.
func loadSecretFile(t *testing.T, path string) (string, error) {
	cfg, err := load(options(environ(t, "APP_DB_PASSWORD_FILE="+path)))
	return string(cfg.DB.Password), err
}

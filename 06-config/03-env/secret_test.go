package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSecretIsRedactedInEveryFormat: the password never shows, whichever
// way the config or the secret is printed, logged or encoded.
func TestSecretIsRedactedInEveryFormat(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-Pa55-9f2c"
	var cfg Config
	cfg.DB.Password = Secret(pw)
	s := cfg.DB.Password
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("loaded", "config", cfg, "password", s)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("loaded", "config", cfg, "password", s)
	encoded, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":          fmt.Sprintf("%v | %v", cfg, s),
		"%+v":         fmt.Sprintf("%+v | %+v", cfg, s),
		"%#v":         fmt.Sprintf("%#v | %#v", cfg, s),
		"%s %q":       fmt.Sprintf("%s | %q", s, s),
		"slog text":   text.String(),
		"slog json":   js.String(),
		"json":        string(encoded),
		"error chain": fmt.Errorf("connect: %w", fmt.Errorf("login with %v refused", s)).Error(),
		// A handler that encodes resolved values by reflection (as some
		// zap or zerolog bridges do) sees the mask, not the Secret.
		"slog resolved": reflect.ValueOf(slog.AnyValue(s).Resolve().Any()).String(),
	}
	for format, out := range outputs {
		if strings.Contains(out, pw) || !strings.Contains(out, "[REDACTED]") {
			t.Errorf("%s: %s", format, out)
		}
	}
}

// TestSecretFilePolicy: the repository's one rule for secret files — one
// trailing newline (echo, editors) is dropped, any other line break and an
// empty file are errors that name the file, never its content.
func TestSecretFilePolicy(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		content, want, err string
	}{
		"plain":               {"s3cret-value", "s3cret-value", ""},
		"one_newline_dropped": {"s3cret-value\n", "s3cret-value", ""},
		"two_newlines":        {"s3cret-value\n\n", "", "has a line break inside"},
		"line_break_inside":   {"s3cret\nvalue", "", "has a line break inside"},
		"windows_line_end":    {"s3cret-value\r\n", "", "has a line break inside"},
		"only_a_newline":      {"\n", "", "is empty"},
		"empty":               {"", "", "is empty"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := loadSecretFile(t, path)
			if tt.err == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("password = %q, %v; want %q", string(got), err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "APP_DB_PASSWORD_FILE: the file "+tt.err) {
				t.Fatalf("error = %v, want %q after the file name", err, tt.err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the content: %v", err)
			}
		})
	}
}

// loadSecretFile loads a whole config with the password in path.
func loadSecretFile(t *testing.T, path string) (Secret, error) {
	cfg, err := load(options(environ(t, "APP_DB_PASSWORD_FILE="+path)))
	return cfg.DB.Password, err
}

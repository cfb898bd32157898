package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

const secret = "s3cret-value"

// setup unsets every APP_ variable (t.Setenv restores them afterwards),
// writes a secret file and sets the two required variables. envconfig
// reads the process environment, so these tests cannot run in parallel.
func setup(t *testing.T) {
	t.Helper()
	testkit.UnsetPrefix(t, "APP_")
	path := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("APP_DB_URL", "postgres://app@localhost:5432/app")
	t.Setenv("APP_DB_PASSWORD_FILE", path)
}

func TestRun_loads_env_over_defaults(t *testing.T) {
	setup(t)
	t.Setenv("APP_HTTP_PORT", "9090")
	t.Setenv("APP_ALLOWED_ORIGINS", "https://example.com,https://admin.example.com")
	t.Setenv("APP_LOG_LEVEL", "debug")
	var out bytes.Buffer
	if err := run(nil, &out); err != nil {
		t.Fatal(err)
	}
	want := "config loaded: {HTTP:{Port:9090 ReadTimeout:5s WriteTimeout:10s} " +
		"DB:{URL:postgres://app@localhost:5432/app PasswordFile:" + os.Getenv("APP_DB_PASSWORD_FILE") +
		" Password:[REDACTED]} AllowedOrigins:[https://example.com https://admin.example.com] " +
		"LogLevel:DEBUG Beta:false}\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n got %s\nwant %s", got, want)
	}
}

// The whole table, as the README shows it: generated from the struct tags.
func TestRun_help_prints_every_variable(t *testing.T) {
	setup(t)
	var out bytes.Buffer
	if err := run([]string{"-help"}, &out); err != nil {
		t.Fatal(err)
	}
	want := `This application is configured via the environment. The following environment
variables can be used:

KEY                     TYPE                            DEFAULT  REQUIRED  DESCRIPTION
APP_HTTP_PORT           Integer                         8080               listen port
APP_HTTP_READ_TIMEOUT   Duration                        5s                 with a unit: 5s, 1m
APP_HTTP_WRITE_TIMEOUT  Duration                        10s                with a unit: 5s, 1m
APP_DB_URL              String                                   true      postgres://user@host:port/db, no password
APP_DB_PASSWORD_FILE    String                                   true      file holding the password
APP_ALLOWED_ORIGINS     Comma-separated list of String                     comma-separated origins for CORS
APP_LOG_LEVEL           LogLevel                        info               debug, info, warn or error
APP_BETA                True or False                   false              feature flag: the beta feature
`
	if got := out.String(); got != want {
		t.Errorf("help:\n%s\nwant:\n%s", got, want)
	}
}

func TestRun_rejects_bad_input(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		unset string
		want  []string // every part must appear in the error
	}{
		{"rejects_port_abc", map[string]string{"APP_HTTP_PORT": "abc"}, "",
			[]string{"assigning APP_HTTP_PORT to Port: converting 'abc' to type int"}},
		{"rejects_timeout_without_unit", map[string]string{"APP_HTTP_READ_TIMEOUT": "5"}, "",
			[]string{"assigning APP_HTTP_READ_TIMEOUT to ReadTimeout: converting '5' to type time.Duration",
				`time: missing unit in duration "5"`}},
		{"rejects_unknown_log_level", map[string]string{"APP_LOG_LEVEL": "verbose"}, "",
			[]string{"assigning APP_LOG_LEVEL to LogLevel: converting 'verbose'", "want debug, info, warn or error"}},
		{"rejects_missing_required_variable", nil, "APP_DB_URL",
			[]string{"required key APP_DB_URL missing value"}},
		{"rejects_empty_required_variable", map[string]string{"APP_DB_URL": ""}, "",
			[]string{"APP_DB_URL: is empty"}},
		{"rejects_unreadable_secret_file", map[string]string{"APP_DB_PASSWORD_FILE": "/nonexistent/db-password"}, "",
			[]string{"APP_DB_PASSWORD_FILE: open /nonexistent/db-password: no such file or directory"}},
		{"reports_validation_problems_together", map[string]string{
			"APP_HTTP_PORT": "70000", "APP_DB_URL": "postgres://app:" + secret + "@db/app",
			"APP_ALLOWED_ORIGINS": "https://ok.example,example.com/path"}, "",
			[]string{"APP_HTTP_PORT: 70000 is out of range", "APP_DB_URL: carries a password",
				`APP_ALLOWED_ORIGINS: "example.com/path" is not scheme://host[:port]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.unset != "" {
				if err := os.Unsetenv(tt.unset); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			err := run(nil, &out)
			if err == nil {
				t.Fatalf("no error; output %s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the secret: %v", err)
			}
			if out.Len() != 0 {
				t.Errorf("a rejected config was printed: %s", out.String())
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const secret = "s3cret-value"

// environ returns a complete environment: the two required variables (the
// secret in a fresh file) plus extra, which may override them.
func environ(t *testing.T, extra ...string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"APP_DB_URL=postgres://app@localhost:5432/app", "APP_DB_PASSWORD_FILE=" + path}
	return append(base, extra...) // env.ToMap: a later KEY= wins
}

func TestRun_loads_env_over_defaults(t *testing.T) {
	t.Parallel()
	e := environ(t, "DB_HOST=db.internal", "APP_DB_URL=postgres://app@${DB_HOST}:5432/app",
		"APP_HTTP_WRITE_TIMEOUT=30s", "APP_ALLOWED_ORIGINS=https://example.com,https://admin.example.com",
		"APP_BETA=true")
	var out bytes.Buffer
	if err := run(nil, e, &out); err != nil {
		t.Fatal(err)
	}
	want := "config loaded: {HTTP:{Port:8080 ReadTimeout:5s WriteTimeout:30s} " +
		"DB:{URL:postgres://app@db.internal:5432/app Password:[REDACTED]} " +
		"AllowedOrigins:[https://example.com https://admin.example.com] LogLevel:INFO Beta:true}\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n got %s\nwant %s", got, want)
	}
}

func TestLoad_reads_the_secret_from_the_file(t *testing.T) {
	t.Parallel()
	cfg, err := load(options(environ(t)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB.Password != secret {
		t.Errorf("password = %q, want the file's content", string(cfg.DB.Password))
	}
}

func TestRun_help_lists_every_variable(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run([]string{"-help"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	want := `KEY                     DEFAULT  REQUIRED  FROM FILE
APP_HTTP_PORT           8080     false     false
APP_HTTP_READ_TIMEOUT   5s       false     false
APP_HTTP_WRITE_TIMEOUT  10s      false     false
APP_DB_URL                       true      false
APP_DB_PASSWORD_FILE             true      true
APP_ALLOWED_ORIGINS              false     false
APP_LOG_LEVEL           info     false     false
APP_BETA                false    false     false
`
	if got := out.String(); got != want {
		t.Errorf("help:\n%s\nwant:\n%s", got, want)
	}
}

func TestRun_rejects_bad_input(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra []string
		drop  string   // a variable to leave out
		want  []string // every part must appear in the error
	}{
		{"rejects_port_abc", []string{"APP_HTTP_PORT=abc"}, "",
			[]string{`parse error on field "Port" of type "int": strconv.ParseInt: parsing "abc"`}},
		{"rejects_timeout_without_unit", []string{"APP_HTTP_READ_TIMEOUT=5"}, "",
			[]string{`parse error on field "ReadTimeout"`, `time: missing unit in duration "5"`}},
		{"rejects_unknown_log_level", []string{"APP_LOG_LEVEL=verbose"}, "",
			[]string{`field "LogLevel"`, `"verbose" is not a log level`}},
		{"rejects_missing_required_variable", nil, "APP_DB_PASSWORD_FILE",
			[]string{`required environment variable "APP_DB_PASSWORD_FILE" is not set`}},
		{"rejects_empty_required_variable", []string{"APP_DB_URL="}, "",
			[]string{`environment variable "APP_DB_URL" should not be empty`}},
		{"rejects_unreadable_secret_file", []string{"APP_DB_PASSWORD_FILE=/nonexistent/db-password"}, "",
			[]string{`could not load content of file "/nonexistent/db-password" from variable APP_DB_PASSWORD_FILE`}},
		{"reports_parse_problems_together", []string{"APP_HTTP_PORT=abc", "APP_HTTP_WRITE_TIMEOUT=10", "APP_BETA=maybe"}, "",
			[]string{`field "Port"`, `field "WriteTimeout"`, `field "Beta"`}},
		{"reports_validation_problems_together", []string{"APP_HTTP_PORT=70000",
			"APP_DB_URL=postgres://app:" + secret + "@db/app", "APP_ALLOWED_ORIGINS=https://ok.example,example.com/path"}, "",
			[]string{"APP_HTTP_PORT: 70000 is out of range", "APP_DB_URL: carries a password",
				`APP_ALLOWED_ORIGINS: "example.com/path" is not scheme://host[:port]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := slices.DeleteFunc(environ(t, tt.extra...), func(kv string) bool {
				return tt.drop != "" && strings.HasPrefix(kv, tt.drop+"=")
			})
			var out bytes.Buffer
			err := run(nil, e, &out)
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

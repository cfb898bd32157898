package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is the service configuration. With prefix "app", envconfig reads
// APP_ + the field name, APP_HTTP_ + the field name for the nested HTTP
// struct; split_words turns ReadTimeout into READ_TIMEOUT.
type Config struct {
	HTTP           HTTPConfig
	DB             DBConfig
	AllowedOrigins []string `split_words:"true" desc:"comma-separated origins for CORS"`
	LogLevel       LogLevel `split_words:"true" default:"info" desc:"debug, info, warn or error"`
	Beta           bool     `default:"false" desc:"feature flag: the beta feature"`
}

// HTTPConfig is the nested HTTP section.
type HTTPConfig struct {
	Port         int           `default:"8080" desc:"listen port"`
	ReadTimeout  time.Duration `split_words:"true" default:"5s" desc:"with a unit: 5s, 1m"`
	WriteTimeout time.Duration `split_words:"true" default:"10s" desc:"with a unit: 5s, 1m"`
}

// DBConfig is the nested DB section. required means "set", not "non-empty":
// APP_DB_URL= passes envconfig and is caught by Validate.
type DBConfig struct {
	URL          string `required:"true" desc:"postgres://user@host:port/db, no password"`
	PasswordFile string `split_words:"true" required:"true" desc:"file holding the password"`
	Password     Secret `ignored:"true"`
}

// LogLevel is an enum. Implementing envconfig.Decoder makes an unknown
// value an error that names the variable and the value.
type LogLevel slog.Level

// Decode implements envconfig.Decoder.
func (l *LogLevel) Decode(value string) error {
	switch value {
	case "debug":
		*l = LogLevel(slog.LevelDebug)
	case "info":
		*l = LogLevel(slog.LevelInfo)
	case "warn":
		*l = LogLevel(slog.LevelWarn)
	case "error":
		*l = LogLevel(slog.LevelError)
	default:
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

func (l LogLevel) String() string { return slog.Level(l).String() }

// Secret is a string that never shows its value: fmt (%v, %+v, %#v, %s,
// %q), slog (text and JSON) and encoders (encoding/json and YAML use
// MarshalText) all print [REDACTED], the repository's one spelling of the mask.
type Secret string

const redacted = "[REDACTED]"

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// parseSecret applies the repository's one policy for secret files: the
// single trailing newline that echo and editors add is not part of the
// secret; an empty secret or any other line break is an error.
func parseSecret(b []byte) (Secret, error) {
	s := strings.TrimSuffix(string(b), "\n")
	switch {
	case s == "":
		return "", errors.New("is empty")
	case strings.ContainsAny(s, "\r\n"):
		return "", errors.New("has a line break inside (only one trailing newline is allowed)")
	}
	return Secret(s), nil
}

// readSecret loads the password from its file. The error names the file,
// never the content.
func readSecret(path string) (Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("APP_DB_PASSWORD_FILE: %w", err)
	}
	secret, err := parseSecret(b)
	if err != nil {
		return "", fmt.Errorf("APP_DB_PASSWORD_FILE: %s %w", path, err)
	}
	return secret, nil
}

// Validate reports every problem at once, so one deploy shows them all.
func (c *Config) Validate() error {
	var errs []error
	if c.HTTP.Port < 1 || c.HTTP.Port > 65535 {
		errs = append(errs, fmt.Errorf("APP_HTTP_PORT: %d is out of range 1-65535", c.HTTP.Port))
	}
	if c.HTTP.ReadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("APP_HTTP_READ_TIMEOUT: %v must be positive", c.HTTP.ReadTimeout))
	}
	if c.HTTP.WriteTimeout <= 0 {
		errs = append(errs, fmt.Errorf("APP_HTTP_WRITE_TIMEOUT: %v must be positive", c.HTTP.WriteTimeout))
	}
	// url.Parse errors quote the whole URL; do not echo it, it may hold a password.
	if u, err := url.Parse(c.DB.URL); c.DB.URL == "" {
		errs = append(errs, errors.New("APP_DB_URL: is empty"))
	} else if err != nil || u.Scheme != "postgres" || u.Host == "" {
		errs = append(errs, errors.New("APP_DB_URL: want postgres://user@host:port/db"))
	} else if _, ok := u.User.Password(); ok {
		errs = append(errs, errors.New("APP_DB_URL: carries a password; use APP_DB_PASSWORD_FILE"))
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") ||
			u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("APP_ALLOWED_ORIGINS: %q is not scheme://host[:port]", o))
		}
	}
	return errors.Join(errs...)
}

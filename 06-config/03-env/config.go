package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config is the service configuration. The Prefix option adds APP_ to
// every key; envPrefix adds HTTP_ or DB_ to the keys of a nested struct.
type Config struct {
	HTTP           HTTPConfig `envPrefix:"HTTP_"`
	DB             DBConfig   `envPrefix:"DB_"`
	AllowedOrigins []string   `env:"ALLOWED_ORIGINS" envSeparator:","`
	LogLevel       LogLevel   `env:"LOG_LEVEL" envDefault:"info"`
	Beta           bool       `env:"BETA" envDefault:"false"` // feature flag
}

// HTTPConfig is the nested HTTP section.
type HTTPConfig struct {
	Port         int           `env:"PORT" envDefault:"8080"`
	ReadTimeout  time.Duration `env:"READ_TIMEOUT" envDefault:"5s"`
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT" envDefault:"10s"`
}

// DBConfig is the nested DB section.
type DBConfig struct {
	// required: set; notEmpty: not ""; expand: ${DB_HOST} in the value is
	// replaced from the same environment.
	URL string `env:"URL,required,notEmpty,expand"`
	// file: the variable holds a path and the field gets the file's content,
	// the way Docker and Kubernetes mount secrets.
	Password Secret `env:"PASSWORD_FILE,file,required"`
}

// LogLevel is an enum, parsed by parseLevel through Options.FuncMap.
type LogLevel slog.Level

func (l LogLevel) String() string { return slog.Level(l).String() }

// parseLevel is a custom parser: env calls it for every LogLevel field.
func parseLevel(s string) (any, error) {
	switch s {
	case "debug":
		return LogLevel(slog.LevelDebug), nil
	case "info":
		return LogLevel(slog.LevelInfo), nil
	case "warn":
		return LogLevel(slog.LevelWarn), nil
	case "error":
		return LogLevel(slog.LevelError), nil
	}
	return nil, fmt.Errorf("%q is not a log level (want debug, info, warn or error)", s)
}

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
	if u, err := url.Parse(c.DB.URL); err != nil || u.Scheme != "postgres" || u.Host == "" {
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

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Config is the service configuration. The mapstructure tags are the keys
// of the YAML file and the flags; viper lower-cases every key, so matching
// is case-insensitive.
type Config struct {
	HTTP           HTTPConfig `mapstructure:"http"`
	DB             DBConfig   `mapstructure:"db"`
	AllowedOrigins []string   `mapstructure:"allowed-origins"`
	LogLevel       slog.Level `mapstructure:"log-level"`
	Beta           bool       `mapstructure:"beta"` // feature flag
}

// HTTPConfig is the nested "http" section.
type HTTPConfig struct {
	Port         int           `mapstructure:"port"`
	ReadTimeout  time.Duration `mapstructure:"read-timeout"`
	WriteTimeout time.Duration `mapstructure:"write-timeout"`
}

// DBConfig is the nested "db" section. The password is read from the file
// PasswordFile names, never from the config file itself.
type DBConfig struct {
	URL          string `mapstructure:"url"`
	PasswordFile string `mapstructure:"password-file"`
	Password     Secret `mapstructure:"-"`
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

// valueHook parses the strings that env vars and flags bring (and YAML
// durations) into the field's type. It replaces mapstructure's own parsing,
// whose errors leave out the bad value, and it makes log-level an enum:
// slog's own parser would accept "info+2".
func valueHook(_, to reflect.Type, data any) (any, error) {
	s, ok := data.(string)
	if !ok {
		return data, nil
	}
	switch to {
	case reflect.TypeFor[int]():
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case reflect.TypeFor[bool]():
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration such as 5s or 1m30s", s)
		}
		return d, nil
	case reflect.TypeFor[slog.Level]():
		switch s {
		case "debug":
			return slog.LevelDebug, nil
		case "info":
			return slog.LevelInfo, nil
		case "warn":
			return slog.LevelWarn, nil
		case "error":
			return slog.LevelError, nil
		}
		return nil, fmt.Errorf("%q is not a log level (want debug, info, warn or error)", s)
	}
	return data, nil
}

// readSecret loads the password from its file. The error names the file,
// never the content.
func readSecret(path string) (Secret, error) {
	if path == "" {
		return "", errors.New("db.password-file: required (file or APP_DB_PASSWORD_FILE)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("db.password-file: %w", err)
	}
	secret, err := parseSecret(b)
	if err != nil {
		return "", fmt.Errorf("db.password-file: %s %w", path, err)
	}
	return secret, nil
}

// Validate reports every problem at once, so one deploy shows them all.
func (c *Config) Validate() error {
	var errs []error
	if c.HTTP.Port < 1 || c.HTTP.Port > 65535 {
		errs = append(errs, fmt.Errorf("http.port: %d is out of range 1-65535", c.HTTP.Port))
	}
	// A YAML number without a unit (read-timeout: 5) decodes as nanoseconds.
	if c.HTTP.ReadTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("http.read-timeout: %v is under 1ms (a number without a unit?)", c.HTTP.ReadTimeout))
	}
	if c.HTTP.WriteTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("http.write-timeout: %v is under 1ms (a number without a unit?)", c.HTTP.WriteTimeout))
	}
	// url.Parse errors quote the whole URL; do not echo it, it may hold a password.
	if u, err := url.Parse(c.DB.URL); c.DB.URL == "" {
		errs = append(errs, errors.New("db.url: required (file or APP_DB_URL)"))
	} else if err != nil || u.Scheme != "postgres" || u.Host == "" {
		errs = append(errs, errors.New("db.url: want postgres://user@host:port/db"))
	} else if _, ok := u.User.Password(); ok {
		errs = append(errs, errors.New("db.url: carries a password; use db.password-file"))
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") ||
			u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("allowed-origins: %q is not scheme://host[:port]", o))
		}
	}
	return errors.Join(errs...)
}

// dropTime removes the timestamp so the output is the same on every run.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

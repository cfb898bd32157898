package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the one struct all four loaders fill. Each library has its own
// tag vocabulary: yaml for the file, mapstructure for viper, split_words for
// envconfig, env and envPrefix for caarlos0/env.
type Config struct {
	HTTP           HTTP     `yaml:"http" mapstructure:"http" envPrefix:"HTTP_"`
	DB             DB       `yaml:"db" mapstructure:"db" envPrefix:"DB_"`
	AllowedOrigins []string `yaml:"allowed_origins" mapstructure:"allowed_origins" split_words:"true" env:"ALLOWED_ORIGINS"`
	LogLevel       Level    `yaml:"log_level" mapstructure:"log_level" split_words:"true" env:"LOG_LEVEL"`
	Beta           bool     `yaml:"beta" mapstructure:"beta" env:"BETA"` // feature flag
}

// HTTP is the nested http section.
type HTTP struct {
	Port         int           `yaml:"port" mapstructure:"port" env:"PORT"`
	ReadTimeout  time.Duration `yaml:"read_timeout" mapstructure:"read_timeout" split_words:"true" env:"READ_TIMEOUT"`
	WriteTimeout time.Duration `yaml:"write_timeout" mapstructure:"write_timeout" split_words:"true" env:"WRITE_TIMEOUT"`
}

// DB is the nested db section. Password is read from PasswordFile after
// the layers are merged, the same way for every loader.
type DB struct {
	URL          string `yaml:"url" mapstructure:"url" env:"URL"`
	PasswordFile string `yaml:"password_file" mapstructure:"password_file" split_words:"true" env:"PASSWORD_FILE"`
	Password     Secret `yaml:"-" mapstructure:"-" ignored:"true" env:"-"`
}

// Defaults is the lowest layer. There are no default tags: envconfig and
// env would write them over what the file put there.
func Defaults() Config {
	return Config{
		HTTP:     HTTP{Port: 8080, ReadTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second},
		LogLevel: Level(slog.LevelInfo),
	}
}

// Level is the log-level enum. UnmarshalText is the one hook every loader
// understands: yaml, viper (with its TextUnmarshaller hook), envconfig, env
// and flag.TextVar all call it, so "verbose" is rejected everywhere.
type Level slog.Level

func (l *Level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "debug":
		*l = Level(slog.LevelDebug)
	case "info":
		*l = Level(slog.LevelInfo)
	case "warn":
		*l = Level(slog.LevelWarn)
	case "error":
		*l = Level(slog.LevelError)
	default:
		return fmt.Errorf("%q is not a log level (want debug, info, warn or error)", b)
	}
	return nil
}

func (l Level) MarshalText() ([]byte, error) { return []byte(strings.ToLower(l.String())), nil }
func (l Level) String() string               { return slog.Level(l).String() }

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

// String prints the config on one line, the secret redacted.
func (c Config) String() string {
	type plain Config // no String method: %+v would call this one again
	return fmt.Sprintf("%+v", plain(c))
}

// LogValue makes slog print the config as groups, the secret redacted.
func (c Config) LogValue() slog.Value { return slog.GroupValue(c.attrs()...) }

func (c Config) attrs() []slog.Attr {
	return []slog.Attr{
		slog.Group("http", "port", c.HTTP.Port, "read_timeout", c.HTTP.ReadTimeout,
			"write_timeout", c.HTTP.WriteTimeout),
		slog.Group("db", "url", c.DB.URL, "password_file", c.DB.PasswordFile, "password", c.DB.Password),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Any("log_level", c.LogLevel),
		slog.Bool("beta", c.Beta),
	}
}

// readFile decodes the YAML file over c: keys the file leaves out keep the
// defaults, keys the struct does not have are an error (a typo).
func readFile(path string, c *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// finish reads the secret and validates: the last step of every loader.
func finish(c Config) (Config, error) {
	var errs []error
	if c.DB.PasswordFile == "" {
		errs = append(errs, errors.New("db.password_file: required"))
	} else if b, err := os.ReadFile(c.DB.PasswordFile); err != nil {
		errs = append(errs, fmt.Errorf("db.password_file: %w", err))
	} else if secret, err := parseSecret(b); err != nil {
		errs = append(errs, fmt.Errorf("db.password_file: %s %w", c.DB.PasswordFile, err))
	} else {
		c.DB.Password = secret
	}
	if err := errors.Join(append(errs, c.Validate())...); err != nil {
		return Config{}, fmt.Errorf("invalid config: %w", err)
	}
	return c, nil
}

// Validate reports every problem at once, so one deploy shows them all.
func (c *Config) Validate() error {
	var errs []error
	if c.HTTP.Port < 1 || c.HTTP.Port > 65535 {
		errs = append(errs, fmt.Errorf("http.port: %d is out of range 1-65535", c.HTTP.Port))
	}
	// A YAML number without a unit reaches viper as nanoseconds.
	if c.HTTP.ReadTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("http.read_timeout: %v is under 1ms (a number without a unit?)", c.HTTP.ReadTimeout))
	}
	if c.HTTP.WriteTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("http.write_timeout: %v is under 1ms (a number without a unit?)", c.HTTP.WriteTimeout))
	}
	// url.Parse errors quote the whole URL; do not echo it, it may hold a password.
	if u, err := url.Parse(c.DB.URL); c.DB.URL == "" {
		errs = append(errs, errors.New("db.url: required"))
	} else if err != nil || u.Scheme != "postgres" || u.Host == "" {
		errs = append(errs, errors.New("db.url: want postgres://user@host:port/db"))
	} else if _, ok := u.User.Password(); ok {
		errs = append(errs, errors.New("db.url: carries a password; use db.password_file"))
	}
	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") ||
			u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("allowed_origins: %q is not scheme://host[:port]", o))
		}
	}
	return errors.Join(errs...)
}

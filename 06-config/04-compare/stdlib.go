package main

import (
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// loadStdlib layers the config with the standard library alone (plus the
// YAML decoder for the file): defaults, file, os.LookupEnv, flag.
func loadStdlib(args []string) (Config, error) { return layered(args, fromEnv) }

// layered runs the layers in order — defaults, file, env, flags — with
// envLayer as the environment step. envconfig and env read the environment
// only, so they share the file and flag steps of the standard library.
func layered(args []string, envLayer func(*Config) error) (Config, error) {
	// Parse once to learn --config and to reject bad flags early; the values
	// are applied last, by the second parse below.
	path := defaultConfigPath
	var scratch Config
	if err := parseFlags(args, &scratch, &path); err != nil {
		return Config{}, err
	}
	cfg := Defaults()
	if err := readFile(path, &cfg); err != nil {
		return Config{}, err
	}
	if err := envLayer(&cfg); err != nil {
		return Config{}, fmt.Errorf("env: %w", err)
	}
	if err := parseFlags(args, &cfg, &path); err != nil {
		return Config{}, err
	}
	return finish(cfg)
}

// parseFlags binds every field to a flag whose default is the field's
// current value, so a flag that is not given keeps what the file and the
// environment put there.
func parseFlags(args []string, c *Config, path *string) error {
	if err := newFlagSet(c, path).Parse(args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	return nil
}

// newFlagSet binds the fields of c, and path, to flags. It prints nothing:
// the caller reports errors, and run prints the usage for -help.
func newFlagSet(c *Config, path *string) *flag.FlagSet {
	fs := flag.NewFlagSet("04-compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(path, "config", *path, "YAML config file")
	fs.IntVar(&c.HTTP.Port, "http-port", c.HTTP.Port, "listen port")
	fs.DurationVar(&c.HTTP.ReadTimeout, "http-read-timeout", c.HTTP.ReadTimeout, "read timeout")
	fs.DurationVar(&c.HTTP.WriteTimeout, "http-write-timeout", c.HTTP.WriteTimeout, "write timeout")
	fs.StringVar(&c.DB.URL, "db-url", c.DB.URL, "postgres://user@host:port/db")
	fs.StringVar(&c.DB.PasswordFile, "db-password-file", c.DB.PasswordFile, "file holding the password")
	fs.Func("allowed-origins", "comma-separated origins", func(s string) error {
		c.AllowedOrigins = strings.Split(s, ",")
		return nil
	})
	fs.TextVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&c.Beta, "beta", c.Beta, "feature flag: the beta feature")
	return fs
}

// fromEnv overrides c with every APP_* variable that is set, and reports
// every bad one, naming the variable and the value.
func fromEnv(c *Config) error {
	var errs []error
	lookup := func(key string, parse func(string) error) {
		if v, ok := os.LookupEnv(key); ok {
			if err := parse(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", key, v, err))
			}
		}
	}
	lookup("APP_HTTP_PORT", intVar(&c.HTTP.Port))
	lookup("APP_HTTP_READ_TIMEOUT", durationVar(&c.HTTP.ReadTimeout))
	lookup("APP_HTTP_WRITE_TIMEOUT", durationVar(&c.HTTP.WriteTimeout))
	lookup("APP_DB_URL", func(s string) error { c.DB.URL = s; return nil })
	lookup("APP_DB_PASSWORD_FILE", func(s string) error { c.DB.PasswordFile = s; return nil })
	lookup("APP_ALLOWED_ORIGINS", func(s string) error { c.AllowedOrigins = strings.Split(s, ","); return nil })
	lookup("APP_LOG_LEVEL", textVar(&c.LogLevel))
	lookup("APP_BETA", boolVar(&c.Beta))
	return errors.Join(errs...)
}

func intVar(p *int) func(string) error {
	return func(s string) (err error) { *p, err = strconv.Atoi(s); return unwrapNum(err) }
}

func boolVar(p *bool) func(string) error {
	return func(s string) (err error) { *p, err = strconv.ParseBool(s); return unwrapNum(err) }
}

func durationVar(p *time.Duration) func(string) error {
	return func(s string) (err error) { *p, err = time.ParseDuration(s); return err }
}

func textVar(p encoding.TextUnmarshaler) func(string) error {
	return func(s string) error { return p.UnmarshalText([]byte(s)) }
}

// unwrapNum drops strconv's "strconv.Atoi: parsing ..." prefix: the caller
// already names the variable and the value.
func unwrapNum(err error) error {
	if ne, ok := errors.AsType[*strconv.NumError](err); ok {
		return ne.Err
	}
	return err
}

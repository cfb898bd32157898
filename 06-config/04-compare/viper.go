package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// loadViper: viper knows all four layers and their order by itself.
func loadViper(args []string) (Config, error) {
	fs := pflag.NewFlagSet("04-compare", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", defaultConfigPath, "YAML config file")
	fs.Int("http-port", 0, "listen port")
	fs.Duration("http-read-timeout", 0, "read timeout")
	fs.Duration("http-write-timeout", 0, "write timeout")
	fs.String("db-url", "", "postgres://user@host:port/db")
	fs.String("db-password-file", "", "file holding the password")
	fs.StringSlice("allowed-origins", nil, "comma-separated origins")
	fs.String("log-level", "", "debug, info, warn or error")
	fs.Bool("beta", false, "feature flag: the beta feature")
	if err := fs.Parse(args); err != nil {
		return Config{}, fmt.Errorf("flags: %w", err)
	}

	v := viper.New()
	d := Defaults()
	v.SetDefault("http.port", d.HTTP.Port)
	v.SetDefault("http.read_timeout", d.HTTP.ReadTimeout)
	v.SetDefault("http.write_timeout", d.HTTP.WriteTimeout)
	v.SetDefault("log_level", d.LogLevel)
	v.SetEnvPrefix("APP")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv() // every key below is bound to a flag, so viper knows it
	var errs []error
	for key, flag := range map[string]string{
		"http.port": "http-port", "http.read_timeout": "http-read-timeout",
		"http.write_timeout": "http-write-timeout", "db.url": "db-url",
		"db.password_file": "db-password-file", "allowed_origins": "allowed-origins",
		"log_level": "log-level", "beta": "beta",
	} {
		errs = append(errs, v.BindPFlag(key, fs.Lookup(flag)))
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("bind flags: %w", err)
	}
	v.SetConfigFile(*path)
	if err := v.ReadInConfig(); err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	var cfg Config
	hooks := mapstructure.ComposeDecodeHookFunc(
		mapstructure.TextUnmarshallerHookFunc(),
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
	if err := v.UnmarshalExact(&cfg, viper.DecodeHook(hooks)); err != nil {
		return Config{}, fmt.Errorf("decode config: %w", err)
	}
	return finish(cfg)
}

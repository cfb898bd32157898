package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// loadKoanf: koanf merges providers in the order they are loaded, each
// over the last — defaults, file, env, flags — and has no globals.
func loadKoanf(args []string) (Config, error) {
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
	// koanf has no key naming rules of its own: the loader says which
	// flag and which variable fill which key.
	keys := []struct{ flag, env, key string }{
		{"http-port", "APP_HTTP_PORT", "http.port"},
		{"http-read-timeout", "APP_HTTP_READ_TIMEOUT", "http.read_timeout"},
		{"http-write-timeout", "APP_HTTP_WRITE_TIMEOUT", "http.write_timeout"},
		{"db-url", "APP_DB_URL", "db.url"},
		{"db-password-file", "APP_DB_PASSWORD_FILE", "db.password_file"},
		{"allowed-origins", "APP_ALLOWED_ORIGINS", "allowed_origins"},
		{"log-level", "APP_LOG_LEVEL", "log_level"},
		{"beta", "APP_BETA", "beta"},
	}
	byFlag, byEnv := map[string]string{}, map[string]string{}
	for _, k := range keys {
		byFlag[k.flag], byEnv[k.env] = k.key, k.key
	}

	k := koanf.New(".")
	d := Defaults()
	defaults := map[string]any{
		"http.port": d.HTTP.Port, "http.read_timeout": d.HTTP.ReadTimeout,
		"http.write_timeout": d.HTTP.WriteTimeout, "log_level": d.LogLevel,
	}
	if err := k.Load(confmap.Provider(defaults, "."), nil); err != nil {
		return Config{}, fmt.Errorf("defaults: %w", err)
	}
	if err := k.Load(file.Provider(*path), yaml.Parser()); err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	// A variable the table does not name is ignored (key ""); an empty one
	// too, as in the other loaders.
	envs := env.Provider(".", env.Opt{Prefix: "APP_", TransformFunc: func(name, v string) (string, any) {
		if v == "" {
			return "", nil
		}
		if name == "APP_ALLOWED_ORIGINS" {
			return byEnv[name], strings.Split(v, ",")
		}
		return byEnv[name], v
	}})
	if err := k.Load(envs, nil); err != nil {
		return Config{}, fmt.Errorf("env: %w", err)
	}
	// Only flags given on the command line override.
	flags := posflag.ProviderWithFlag(fs, ".", k, func(f *pflag.Flag) (string, any) {
		if !f.Changed {
			return "", nil
		}
		return byFlag[f.Name], posflag.FlagVal(fs, f)
	})
	if err := k.Load(flags, nil); err != nil {
		return Config{}, fmt.Errorf("flags: %w", err)
	}

	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.TextUnmarshallerHookFunc(),
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
		ErrorUnused:      true, // a key the struct lacks (a typo in the file) is an error
		WeaklyTypedInput: true, // "9090" from the environment into an int
		TagName:          "mapstructure",
		Result:           &cfg,
	}})
	if err != nil {
		return Config{}, fmt.Errorf("decode config: %w", err)
	}
	return finish(cfg)
}

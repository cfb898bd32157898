// Command 01-viper loads the service configuration with viper: defaults in
// code, a YAML file, APP_* environment variables and flags, in that order of
// precedence, and reloads the file on change without ever publishing a
// config that failed validation.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run takes no getenv: viper's AutomaticEnv reads the process environment
// itself and cannot be handed another source.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{ReplaceAttr: dropTime}))

	// Flags named after config keys go into their own set: BindPFlags binds
	// every flag of a set, and --config is not a key of Config.
	keys := pflag.NewFlagSet("keys", pflag.ContinueOnError)
	keys.Int("http.port", 0, "listen port (APP_HTTP_PORT)")
	keys.String("log-level", "", "debug, info, warn or error (APP_LOG_LEVEL)")
	keys.Bool("beta", false, "enable the beta feature (APP_BETA)")
	fs := pflag.NewFlagSet("01-viper", pflag.ContinueOnError)
	path := fs.String("config", "06-config/01-viper/config.yaml", "YAML config file")
	watch := fs.Bool("watch", true, "reload the file on change until interrupted")
	fs.AddFlagSet(keys)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}

	cfg, err := load(*path, keys)
	if err != nil {
		return err
	}
	// Handlers read the config with live.Load() on every request; a reload
	// swaps the whole pointer, so nobody sees half of an old and half of a
	// new config.
	var live atomic.Pointer[Config]
	live.Store(cfg)
	log.Info("config loaded", "file", *path, "config", *cfg)
	if !*watch {
		return nil
	}
	return watchFile(ctx, log, *path, keys, &live)
}

// load builds a fresh viper for every load, so a reload starts from the
// same defaults, environment and flags as the first load.
func load(path string, flags *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	v.SetDefault("http.port", 8080)
	v.SetDefault("http.read-timeout", "5s")
	v.SetDefault("http.write-timeout", "10s")
	v.SetDefault("allowed-origins", []string{})
	v.SetDefault("log-level", "info")
	v.SetDefault("beta", false)

	// http.read-timeout ← APP_HTTP_READ_TIMEOUT. AutomaticEnv only looks up
	// keys viper already knows (a default, the file, a flag): the db keys
	// have no default, so without BindEnv Unmarshal would never see them.
	v.SetEnvPrefix("APP")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_", "-", "_"))
	v.AutomaticEnv()
	if err := errors.Join(v.BindEnv("db.url"), v.BindEnv("db.password-file")); err != nil {
		return nil, fmt.Errorf("bind env: %w", err)
	}
	// Only flags set on the command line override; see viper's find order.
	if err := v.BindPFlags(flags); err != nil {
		return nil, fmt.Errorf("bind flags: %w", err)
	}

	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// UnmarshalExact rejects keys the struct does not have (a typo in the
	// file). DecodeHook replaces viper's default hooks, so the hook that
	// splits APP_ALLOWED_ORIGINS on commas is listed again.
	var cfg Config
	hooks := mapstructure.ComposeDecodeHookFunc(
		valueHook,
		mapstructure.StringToSliceHookFunc(","),
	)
	if err := v.UnmarshalExact(&cfg, viper.DecodeHook(hooks)); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	secret, err := readSecret(cfg.DB.PasswordFile)
	cfg.DB.Password = secret
	if err := errors.Join(err, cfg.Validate()); err != nil {
		return nil, fmt.Errorf("invalid config %s: %w", path, err)
	}
	return &cfg, nil
}

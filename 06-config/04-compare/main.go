// Command 04-compare loads one service configuration with four loaders —
// the standard library, viper, envconfig and caarlos0/env — with the same
// precedence (flag > env > file > default) and the same validation, and
// prints what each produced, the secret redacted.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// defaultConfigPath works from the repository root: go run ./06-config/04-compare.
const defaultConfigPath = "06-config/04-compare/config.yaml"

// A loader builds Config from the command-line arguments and the process
// environment.
type loader struct {
	name string
	load func(args []string) (Config, error)
}

// loaders lists the five ways to build the same Config.
func loaders() []loader {
	return []loader{
		{"stdlib", loadStdlib},
		{"viper", loadViper},
		{"envconfig", loadEnvconfig},
		{"env", loadEnv},
		{"koanf", loadKoanf},
	}
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	// -help lists the flags, which have the same names in every loader.
	// Other flag errors are left to the loaders, which report them.
	defaults, path := Defaults(), defaultConfigPath
	fs := newFlagSet(&defaults, &path)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "Usage of 04-compare (write flags as --name=value):")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return nil
	}
	var last Config
	for _, l := range loaders() {
		cfg, err := l.load(args)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		// String() redacts the secret, so %v is safe to print.
		fmt.Fprintf(stdout, "%-9s %v\n", l.name, cfg)
		last = cfg
	}
	// So does LogValue, for a config logged as structured fields.
	log := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	log.Info("config loaded", "config", last)
	return nil
}

// dropTime removes the timestamp so the output is the same on every run.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

// Command 02-envconfig loads the service configuration from APP_*
// environment variables with kelseyhightower/envconfig, and prints the
// variables it reads, with types and defaults, on -help.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run reads the process environment: envconfig calls os.LookupEnv itself
// and cannot be handed another source.
func run(args []string, stdout io.Writer) error {
	// The one flag is -help: envconfig generates the table of variables
	// from the struct tags, so the documentation cannot drift from the code.
	fs := flag.NewFlagSet("02-envconfig", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		tw := tabwriter.NewWriter(stdout, 1, 0, 2, ' ', 0)
		// Usage cannot return an error; print it rather than a silent blank help.
		if err := envconfig.Usagef("app", &Config{}, tw, envconfig.DefaultTableFormat); err != nil {
			fmt.Fprintln(stdout, "usage:", err)
			return
		}
		tw.Flush()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	// Process fills defaults, parses every variable and stops at the first
	// bad one; its ParseError names the variable and the value.
	var cfg Config
	if err := envconfig.Process("app", &cfg); err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	secret, err := readSecret(cfg.DB.PasswordFile)
	cfg.DB.Password = secret
	if err := errors.Join(err, cfg.Validate()); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	fmt.Fprintf(stdout, "config loaded: %+v\n", cfg)
	return nil
}

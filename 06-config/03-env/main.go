// Command 03-env loads the service configuration from APP_* environment
// variables with caarlos0/env: defaults, required and non-empty values,
// nested prefixes, secrets read from files, ${VAR} expansion, a custom
// parser, and every problem reported in one error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"text/tabwriter"

	"github.com/caarlos0/env/v11"
)

func main() {
	if err := run(os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run takes the environment as a list: env parses from a map handed to it
// in Options.Environment, so tests need no t.Setenv and run in parallel.
func run(args, environ []string, stdout io.Writer) error {
	opts := options(environ)
	fs := flag.NewFlagSet("03-env", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { usage(stdout, opts) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	cfg, err := load(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config loaded: %+v\n", cfg)
	return nil
}

// options: APP_ before every key, the environment to read, and the custom
// parser for LogLevel.
func options(environ []string) env.Options {
	return env.Options{
		Prefix:      "APP_",
		Environment: env.ToMap(environ),
		FuncMap:     map[reflect.Type]env.ParserFunc{reflect.TypeFor[LogLevel](): parseLevel},
	}
}

// load parses and validates. ParseAs keeps going after a bad variable: the
// error is an env.AggregateError listing every problem. A ParseError names
// the Go field ("Port"), not the variable.
func load(opts env.Options) (Config, error) {
	cfg, err := env.ParseAsWithOptions[Config](opts)
	if err != nil {
		return Config{}, fmt.Errorf("load config: %w", err)
	}
	// The file option hands over the content as it is: apply the secret
	// file policy (one trailing newline dropped) here.
	pw, perr := parseSecret([]byte(cfg.DB.Password))
	if perr != nil {
		perr = fmt.Errorf("APP_DB_PASSWORD_FILE: the file %w", perr)
	}
	cfg.DB.Password = pw
	if err := errors.Join(perr, cfg.Validate()); err != nil {
		return Config{}, fmt.Errorf("invalid config: %w", err)
	}
	return cfg, nil
}

// usage prints the variables env reads, from the struct tags.
func usage(w io.Writer, opts env.Options) {
	params, err := env.GetFieldParamsWithOptions(&Config{}, opts)
	if err != nil {
		fmt.Fprintln(w, err)
		return
	}
	tw := tabwriter.NewWriter(w, 1, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tDEFAULT\tREQUIRED\tFROM FILE")
	for _, p := range params {
		fmt.Fprintf(tw, "%s\t%s\t%t\t%t\n", p.Key, p.DefaultValue, p.Required, p.LoadFile)
	}
	tw.Flush()
}

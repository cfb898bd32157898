package main

import (
	"fmt"

	"github.com/kelseyhightower/envconfig"
)

// loadEnvconfig: envconfig reads the environment only, so the file and the
// flags come from the standard-library path around it.
func loadEnvconfig(args []string) (Config, error) {
	path := defaultConfigPath
	var scratch Config
	if err := parseFlags(args, &scratch, &path); err != nil {
		return Config{}, err
	}
	cfg := Defaults()
	if err := readFile(path, &cfg); err != nil {
		return Config{}, err
	}
	// Without default tags Process keeps the value of a field whose
	// variable is unset, so the file and the defaults survive.
	if err := envconfig.Process("app", &cfg); err != nil {
		return Config{}, fmt.Errorf("env: %w", err)
	}
	if err := parseFlags(args, &cfg, &path); err != nil {
		return Config{}, err
	}
	return finish(cfg)
}

package main

import (
	"fmt"

	"github.com/caarlos0/env/v11"
)

// loadEnv: caarlos0/env reads the environment only, so the file and the
// flags come from the standard-library path around it.
func loadEnv(args []string) (Config, error) {
	path := defaultConfigPath
	var scratch Config
	if err := parseFlags(args, &scratch, &path); err != nil {
		return Config{}, err
	}
	cfg := Defaults()
	if err := readFile(path, &cfg); err != nil {
		return Config{}, err
	}
	// Without envDefault tags ParseWithOptions leaves a field alone when its
	// variable is unset (or empty), so the file and the defaults survive.
	if err := env.ParseWithOptions(&cfg, env.Options{Prefix: "APP_"}); err != nil {
		return Config{}, fmt.Errorf("env: %w", err)
	}
	if err := parseFlags(args, &cfg, &path); err != nil {
		return Config{}, err
	}
	return finish(cfg)
}

package main

import "github.com/kelseyhightower/envconfig"

// loadEnvconfig: envconfig is the environment layer; the file and the flags
// come from the standard-library steps around it (layered).
func loadEnvconfig(args []string) (Config, error) {
	// Without default tags Process keeps the value of a field whose
	// variable is unset, so the file and the defaults survive.
	return layered(args, func(c *Config) error { return envconfig.Process("app", c) })
}

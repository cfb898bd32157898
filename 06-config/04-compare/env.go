package main

import "github.com/caarlos0/env/v11"

// loadEnv: caarlos0/env is the environment layer; the file and the flags
// come from the standard-library steps around it (layered).
func loadEnv(args []string) (Config, error) {
	// Without envDefault tags a field whose variable is unset (or empty)
	// keeps its value, so the file and the defaults survive.
	return layered(args, func(c *Config) error {
		return env.ParseWithOptions(c, env.Options{Prefix: "APP_"})
	})
}

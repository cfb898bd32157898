package main

import (
	"io"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// TestReadme runs every command of the README's Run part as `go run`
// would, from the repository root with the variables its line sets, and
// compares the output with the block below it.
func TestReadme(t *testing.T) {
	testkit.CheckReadmeRuns(t, "APP_", func(t *testing.T, args, _ []string, stdout io.Writer) error {
		return run(args, stdout)
	})
}

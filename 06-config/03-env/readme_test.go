package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

// TestReadme runs every command of the README's Run part as `go run`
// would, from the repository root with the variables its line sets, and
// compares the output with the block below it.
func TestReadme(t *testing.T) {
	runs, err := testkit.ReadmeRuns("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 {
		t.Fatal("README.md has no go run/output pair")
	}
	for i, r := range runs {
		var out string
		t.Run(strings.Join(r.Args[1:], "_"), func(t *testing.T) {
			testkit.UnsetPrefix(t, "APP_")
			t.Chdir(testkit.RepoRoot())
			var stdout bytes.Buffer
			err := run(r.Args[1:], r.Env, &stdout)
			out = stdout.String()
			if err != nil {
				out += err.Error() + "\nexit status 1\n"
			}
		})
		testkit.CheckReadme(t, i, out)
	}
}

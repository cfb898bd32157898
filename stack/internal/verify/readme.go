package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

// ReadmeOptions configure VerifyReadmes.
type ReadmeOptions struct {
	Root     string        // repository root: every run starts here
	Env      []string      // the stack's environment (StackEnv)
	Timeout  time.Duration // per go run, after its package is built
	Examples []string      // example folders relative to Root
	Out      io.Writer     // progress and failures
	// Fresh, when set, is called once per README before its runs: it
	// returns environment overrides (a new database, see FreshDatabase)
	// and a function that removes what it made.
	Fresh func(ctx context.Context, env []string) (overrides []string, done func(), err error)
}

// VerifyReadmes runs every verified pair of every example README (the
// `go run` line of a ```sh block and the ```text block right after it,
// see testkit.ReadmeRuns) from the repository root, with the stack's
// environment plus the line's own assignments, and compares the output
// with the block (testkit.MatchOutput). A README without a verified pair
// fails. Each failure names README:line. Each README's runs get their own
// fresh database when o.Fresh is set (make verify-readme sets it): a README
// shows what a reader's first run prints.
func VerifyReadmes(ctx context.Context, o ReadmeOptions) error {
	var failed []string
	runs := 0
	for _, ex := range o.Examples {
		readme := filepath.Join(o.Root, filepath.FromSlash(ex), "README.md")
		rel := ex + "/README.md"
		pairs, err := testkit.ReadmeRuns(readme)
		if err != nil {
			failed = append(failed, rel)
			fmt.Fprintf(o.Out, "FAIL %s: %v\n", rel, err)
			continue
		}
		if len(pairs) == 0 {
			failed = append(failed, rel)
			fmt.Fprintf(o.Out, "FAIL %s: no verified output: its Run part needs a ```sh block with one `go run ./%s` line followed directly by a ```text block of what it prints\n", rel, ex)
			continue
		}
		data, _ := os.ReadFile(readme)
		lines := strings.Split(string(data), "\n")
		ro := o
		done := func() {}
		if o.Fresh != nil {
			over, d, err := o.Fresh(ctx, o.Env)
			if err != nil {
				failed = append(failed, rel)
				fmt.Fprintf(o.Out, "FAIL %s: a fresh database for its runs: %v\n", rel, err)
				continue
			}
			ro.Env, done = mergeEnv(o.Env, over...), d
		}
		for _, p := range pairs {
			runs++
			where := fmt.Sprintf("%s:%d", rel, p.Line)
			line := ""
			if p.Line-1 < len(lines) {
				line = strings.TrimSpace(lines[p.Line-1])
			}
			if err := verifyPair(ctx, ro, p); err != nil {
				failed = append(failed, where)
				fmt.Fprintf(o.Out, "FAIL %s: %s\n%v\n", where, line, err)
				continue
			}
			fmt.Fprintf(o.Out, "ok   %s: %s\n", where, line)
		}
		done()
	}
	if len(failed) > 0 {
		return fmt.Errorf("verify-readme: %d failed: %s", len(failed), strings.Join(failed, ", "))
	}
	fmt.Fprintf(o.Out, "verify-readme: %d runs of %d examples print what their README shows\n", runs, len(o.Examples))
	return nil
}

func verifyPair(ctx context.Context, o ReadmeOptions, p testkit.RunBlock) error {
	pkg := p.Args[0]
	if _, err := os.Stat(filepath.Join(o.Root, filepath.FromSlash(pkg))); err != nil {
		return fmt.Errorf("    %s: no such folder below the repository root (go run runs from there)", pkg)
	}
	env := mergeEnv(o.Env, p.Env...)
	// Build first, under its own generous deadline, so the run's deadline
	// measures the program and go run only links from the cache.
	b := Run(ctx, Cmd{Dir: o.Root, Env: env, Args: []string{"go", "build", "-o", os.DevNull, pkg}, Timeout: 10 * time.Minute})
	if b.Err != nil {
		return fmt.Errorf("    go build %s: %w\n%s", pkg, b.Err, tail(b.Output, 20))
	}
	r := Run(ctx, Cmd{Dir: o.Root, Env: env, Args: append([]string{"go", "run"}, p.Args...), Timeout: o.Timeout})
	if r.TimedOut {
		return fmt.Errorf("    %w: a server needs a flag that makes it do one pass and exit\n%s", r.Err, tail(r.Output, 20))
	}
	var exitErr interface{ ExitCode() int }
	if r.Err != nil && !errors.As(r.Err, &exitErr) {
		return fmt.Errorf("    go run: %w", r.Err)
	}
	if err := testkit.MatchOutput(p.Output, r.Output); err != nil {
		return fmt.Errorf("    %s", strings.ReplaceAll(err.Error(), "\n", "\n    "))
	}
	return nil
}

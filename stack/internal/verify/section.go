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
)

// RunOptions configure RunExamples.
type RunOptions struct {
	Root     string
	Env      []string
	Timeout  time.Duration // per example, after its build
	Examples []string
	Out      io.Writer
}

// RunExamples runs `go run ./EXAMPLE [run.args]` for each example in
// order from the repository root, each under a header and a deadline. An
// example's run.args holds the flags that make a server do one pass and
// exit. A hung example is killed at its deadline and named; the others
// still run.
func RunExamples(ctx context.Context, o RunOptions) error {
	var failed []string
	for _, ex := range o.Examples {
		var args []string
		if data, err := os.ReadFile(filepath.Join(o.Root, filepath.FromSlash(ex), "run.args")); err == nil {
			args = strings.Fields(string(data))
		}
		fmt.Fprintf(o.Out, "\n=== %s %s\n", ex, strings.Join(args, " "))
		b := Run(ctx, Cmd{Dir: o.Root, Env: o.Env, Args: []string{"go", "build", "-o", os.DevNull, "./" + ex}, Timeout: 10 * time.Minute, Tee: o.Out})
		if b.Err != nil {
			failed = append(failed, ex+" (build: "+b.Err.Error()+")")
			continue
		}
		r := Run(ctx, Cmd{Dir: o.Root, Env: o.Env, Args: append([]string{"go", "run", "./" + ex}, args...), Timeout: o.Timeout, Tee: o.Out})
		switch {
		case r.TimedOut:
			failed = append(failed, fmt.Sprintf("%s (hung: no exit within %s; killed)", ex, o.Timeout))
		case r.Err != nil:
			var exit interface{ ExitCode() int }
			if errors.As(r.Err, &exit) {
				failed = append(failed, fmt.Sprintf("%s (exit status %d)", ex, exit.ExitCode()))
			} else {
				failed = append(failed, fmt.Sprintf("%s (%v)", ex, r.Err))
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("run-section: %d of %d examples failed:\n  %s", len(failed), len(o.Examples), strings.Join(failed, "\n  "))
	}
	fmt.Fprintf(o.Out, "\nrun-section: %d examples ran to their end\n", len(o.Examples))
	return nil
}

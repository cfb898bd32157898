package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-course/part4-infrastructure/stack/internal/verify"
)

// runVerify runs the reader's-path checks: run-section, verify-readme,
// verify-copyable and check-tree.
func runVerify(ctx context.Context, root, cmd string, args []string, stdout io.Writer) error {
	if cmd == "check-tree" {
		problems, err := verify.CheckTree(ctx, root)
		if err != nil {
			return err
		}
		for _, p := range problems {
			fmt.Fprintf(stdout, "%s: %s\n", p.Path, p.Why)
		}
		if len(problems) > 0 {
			return fmt.Errorf("check-tree: %d tracked files must not be tracked as they are", len(problems))
		}
		fmt.Fprintln(stdout, "check-tree: no tracked binaries, no tracked file over 1 MiB outside the allow-list")
		return nil
	}
	if cmd == "run-section" && (len(args) != 1 || args[0] == "") {
		return usageError{errors.New("missing section number\nusage: make run-section N   (N = 1..7, e.g. make run-section 1)")}
	}
	examples, err := selectExamples(root, args)
	if err != nil {
		return usageError{err}
	}
	env := verify.StackEnv(root)
	switch cmd {
	case "run-section":
		if len(examples) == 0 {
			fmt.Fprintf(stdout, "%s: no examples yet\n", args[0])
			return nil
		}
		return verify.RunExamples(ctx, verify.RunOptions{
			Root: root, Env: env, Examples: examples, Out: stdout,
			Timeout: durationEnv("RUN_TIMEOUT", 3*time.Minute),
		})
	case "verify-readme":
		return verify.VerifyReadmes(ctx, verify.ReadmeOptions{
			Root: root, Env: env, Examples: examples, Out: stdout,
			Timeout: durationEnv("README_TIMEOUT", 2*time.Minute),
			Fresh:   verify.FreshDatabase,
		})
	default: // verify-copyable
		return verify.VerifyCopyable(ctx, verify.CopyOptions{
			Root: root, Env: env, Examples: examples, Out: stdout,
			ToolsBin: filepath.Join(root, ".stack", "bin"),
			Timeout:  durationEnv("COPY_TIMEOUT", 10*time.Minute),
			Keep:     os.Getenv("KEEP") == "1",
		})
	}
}

// usageError is a wrong argument: the command exits 2, like make's
// section targets.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// selectExamples turns the arguments (nothing: every example; a section
// number or folder; example folders) into example folders.
func selectExamples(root string, args []string) ([]string, error) {
	if len(args) == 0 {
		return verify.Examples(root)
	}
	var out []string
	for _, a := range args {
		a = strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(a), "./"), "/")
		if !strings.Contains(a, "/") {
			sec, err := verify.Section(root, a)
			if err != nil {
				return nil, err
			}
			ex, err := verify.Examples(root, sec)
			if err != nil {
				return nil, err
			}
			out = append(out, ex...)
			continue
		}
		a = strings.TrimSuffix(a, "/README.md")
		if _, err := os.Stat(filepath.Join(root, a, "main.go")); err != nil {
			return nil, fmt.Errorf("%s: not an example folder (no main.go)", a)
		}
		out = append(out, a)
	}
	return out, nil
}

func durationEnv(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil && d > 0 {
		return d
	}
	return def
}

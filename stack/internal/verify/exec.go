// Package verify checks what the READMEs promise a reader: every verified
// `go run` pair prints what its output block shows (make verify-readme),
// every Copy-it block builds in a module of the reader's own
// (make verify-copyable), every example of a section runs to its end
// (make run-section), and the tree holds no build output (make lint).
package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Result is one finished command: what it printed (stdout and stderr in
// one stream, as a terminal shows them) and how it ended.
type Result struct {
	Output   string
	Err      error // nil, an *exec.ExitError, or ErrTimeout wrapped
	TimedOut bool
}

// ErrTimeout marks a command stopped at its deadline.
var ErrTimeout = errors.New("no exit before the deadline")

// Cmd describes one command to run under a deadline.
type Cmd struct {
	Dir     string
	Env     []string
	Args    []string
	Timeout time.Duration
	// Tee, when set, also receives the output as it comes.
	Tee io.Writer
}

// Run runs c in its own process group and kills the whole group at the
// deadline, so `go run` and the program it started both stop.
func Run(ctx context.Context, c Cmd) Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	var out bytes.Buffer
	var w io.Writer = &out
	if c.Tee != nil {
		w = io.MultiWriter(&out, c.Tee)
	}
	// One writer for both: exec gives the child a single pipe, so the
	// lines interleave as they would on a terminal.
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := Result{Output: out.String(), Err: err}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.TimedOut = true
		r.Err = fmt.Errorf("%w (%s)", ErrTimeout, c.Timeout)
	}
	return r
}

// mergeEnv returns base with each KEY=value of over replacing (or
// adding) the same key, in a stable order.
func mergeEnv(base []string, over ...string) []string {
	m := map[string]string{}
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	for _, kv := range over {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+m[k])
	}
	return env
}

// StackEnv is the environment examples run with: the process's own, with
// every endpoint of .stack/env that the process does not set already.
func StackEnv(root string) []string {
	env := os.Environ()
	data, err := os.ReadFile(filepath.Join(root, ".stack", "env"))
	if err != nil {
		return env
	}
	var missing []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		k, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if _, set := os.LookupEnv(k); !set {
			missing = append(missing, line)
		}
	}
	return mergeEnv(env, missing...)
}

// Examples returns the example folders (relative to root, slash-separated)
// of the given sections, or of every section when none is given: the
// NN-name folders holding a main.go, in chapter order, then the section's
// app/ folder when it has one.
func Examples(root string, sections ...string) ([]string, error) {
	if len(sections) == 0 {
		var err error
		if sections, err = Sections(root); err != nil {
			return nil, err
		}
	}
	var out []string
	for _, s := range sections {
		m, err := filepath.Glob(filepath.Join(root, s, "[0-9][0-9]-*", "main.go"))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		// A section built around one service (4.7) keeps it in app/,
		// after its numbered examples.
		if _, err := os.Stat(filepath.Join(root, s, "app", "main.go")); err == nil {
			m = append(m, filepath.Join(root, s, "app", "main.go"))
		}
		for _, f := range m {
			rel, err := filepath.Rel(root, filepath.Dir(f))
			if err != nil {
				return nil, err
			}
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out, nil
}

// Sections returns the NN-name section folders of root in order.
func Sections(root string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(root, "[0-9][0-9]-*", "go.mod"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range m {
		out = append(out, filepath.Base(filepath.Dir(f)))
	}
	sort.Strings(out)
	return out, nil
}

// Section resolves a section argument (1, 01, 01-postgresql) to its folder.
func Section(root, arg string) (string, error) {
	all, err := Sections(root)
	if err != nil {
		return "", err
	}
	for _, s := range all {
		num, _, _ := strings.Cut(s, "-")
		if arg == s || arg == num || "0"+arg == num {
			return s, nil
		}
	}
	return "", fmt.Errorf("unknown section %q (valid: %s)", arg, strings.Join(all, ", "))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return "    " + strings.Join(lines, "\n    ")
}

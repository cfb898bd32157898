package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// CopyOptions configure VerifyCopyable.
type CopyOptions struct {
	Root     string        // repository root
	Env      []string      // base environment
	ToolsBin string        // pinned tools, first on PATH (.stack/bin)
	Timeout  time.Duration // per step: the block, go build, go vet
	Examples []string      // example folders relative to Root
	Out      io.Writer
	Keep     bool // keep the copies (to look at a failure)
}

// CopyBlock is the ```sh copy block of an example README.
type CopyBlock struct {
	Line int    // README line of the opening fence
	Text string // the shell commands
}

// CopyBlocks returns the ```sh copy blocks of a README.
func CopyBlocks(path string) ([]CopyBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read readme: %w", err)
	}
	defer f.Close()
	var blocks []CopyBlock
	var cur *CopyBlock
	var inFence bool
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !inFence && strings.HasPrefix(trimmed, "```"):
			inFence = true
			if f := strings.Fields(strings.TrimPrefix(trimmed, "```")); len(f) == 2 && f[0] == "sh" && f[1] == "copy" {
				cur = &CopyBlock{Line: n}
			}
		case inFence && trimmed == "```":
			inFence = false
			if cur != nil {
				blocks = append(blocks, *cur)
				cur = nil
			}
		case cur != nil:
			cur.Text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read readme: %w", err)
	}
	return blocks, nil
}

// goMod is the part of `go mod edit -json` the copy check needs.
type goMod struct {
	Module  struct{ Path string }
	Go      string
	Require []struct {
		Path     string
		Version  string
		Indirect bool
	}
	Tool []struct{ Path string }
}

func readGoMod(ctx context.Context, dir string, env []string) (*goMod, error) {
	r := Run(ctx, Cmd{Dir: dir, Env: env, Args: []string{"go", "mod", "edit", "-json"}, Timeout: time.Minute})
	if r.Err != nil {
		return nil, fmt.Errorf("go mod edit -json in %s: %w\n%s", dir, r.Err, tail(r.Output, 10))
	}
	var m goMod
	if err := json.Unmarshal([]byte(r.Output), &m); err != nil {
		return nil, fmt.Errorf("parse %s/go.mod: %w", dir, err)
	}
	return &m, nil
}

// ownModules matches this repository's modules: a copy must never need them.
func ownPrefix(module string) string {
	if i := strings.Index(module, "/part4-infrastructure"); i >= 0 {
		return module[:i+len("/part4-infrastructure")]
	}
	return module
}

// readerGoMod is the go.mod of a reader's fresh module: example.com/copy,
// requiring exactly the versions the section pins (never @latest), with
// the section's tool lines, and without this repository's own modules.
func readerGoMod(sec *goMod) string {
	own := ownPrefix(sec.Module.Path)
	var b strings.Builder
	b.WriteString("module example.com/copy\n\n")
	fmt.Fprintf(&b, "go %s\n", sec.Go)
	var req []string
	for _, r := range sec.Require {
		if r.Path == own || strings.HasPrefix(r.Path, own+"/") {
			continue
		}
		line := "\t" + r.Path + " " + r.Version
		if r.Indirect {
			line += " // indirect"
		}
		req = append(req, line)
	}
	if len(req) > 0 {
		b.WriteString("\nrequire (\n" + strings.Join(req, "\n") + "\n)\n")
	}
	if len(sec.Tool) > 0 {
		b.WriteString("\ntool (\n")
		for _, t := range sec.Tool {
			b.WriteString("\t" + t.Path + "\n")
		}
		b.WriteString(")\n")
	}
	return b.String()
}

// readerGoSum keeps the section's checksums except those of this
// repository's modules, so the copy verifies the same downloads.
func readerGoSum(secSum []byte, own string) []byte {
	var b strings.Builder
	for line := range strings.Lines(string(secSum)) {
		if path, _, _ := strings.Cut(line, " "); path == own || strings.HasPrefix(path, own+"/") {
			continue
		}
		b.WriteString(line)
	}
	return []byte(b.String())
}

var latestRE = regexp.MustCompile(`@(latest|upgrade|patch)\b`)

// VerifyCopyable does for every example what its README's Copy-it block
// says: a fresh module example.com/copy outside the repository whose
// go.mod requires the section's pinned versions is $DST; the block runs
// with `sh -eu` in the example's folder, with the pinned tools first on
// PATH; then go build ./... and go vet ./... must pass in $DST, and no
// copied file may import this repository.
func VerifyCopyable(ctx context.Context, o CopyOptions) error {
	var failed []string
	for _, ex := range o.Examples {
		if err := verifyCopy(ctx, o, ex); err != nil {
			failed = append(failed, ex)
			fmt.Fprintf(o.Out, "FAIL %s\n    %s\n", ex, strings.ReplaceAll(err.Error(), "\n", "\n    "))
			continue
		}
		fmt.Fprintf(o.Out, "ok   %s\n", ex)
	}
	if len(failed) > 0 {
		return fmt.Errorf("verify-copyable: %d of %d failed: %s", len(failed), len(o.Examples), strings.Join(failed, ", "))
	}
	fmt.Fprintf(o.Out, "verify-copyable: %d examples build in example.com/copy from their README's Copy it block\n", len(o.Examples))
	return nil
}

func verifyCopy(ctx context.Context, o CopyOptions, ex string) (err error) {
	exDir := filepath.Join(o.Root, filepath.FromSlash(ex))
	readme := filepath.Join(exDir, "README.md")
	blocks, err := CopyBlocks(readme)
	if err != nil {
		return err
	}
	if len(blocks) != 1 {
		return fmt.Errorf("%s/README.md: %d ```sh copy blocks, want exactly one in its Copy it part (shell commands run from the example's folder; $DST is the reader's module root)", ex, len(blocks))
	}
	block := blocks[0]
	where := fmt.Sprintf("%s/README.md:%d", ex, block.Line)
	if m := latestRE.FindString(block.Text); m != "" {
		return fmt.Errorf("%s: %q picks a version at copy time; pin it", where, m)
	}

	secDir := filepath.Join(o.Root, strings.SplitN(ex, "/", 2)[0])
	env := mergeEnv(o.Env, "GOWORK=off", "GOFLAGS=")
	sec, err := readGoMod(ctx, secDir, env)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "verify-copy-")
	if err != nil {
		return err
	}
	if o.Keep {
		defer func() {
			if err != nil {
				err = fmt.Errorf("%w\n(copy kept in %s)", err, work)
			} else {
				_ = os.RemoveAll(work)
			}
		}()
	} else {
		defer os.RemoveAll(work)
	}
	dst := filepath.Join(work, "copy")
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dst, "go.mod"), []byte(readerGoMod(sec)), 0o644); err != nil {
		return err
	}
	if sum, err := os.ReadFile(filepath.Join(secDir, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(dst, "go.sum"), readerGoSum(sum, ownPrefix(sec.Module.Path)), 0o644); err != nil {
			return err
		}
	}

	path := os.Getenv("PATH")
	if o.ToolsBin != "" {
		path = o.ToolsBin + string(os.PathListSeparator) + path
	}
	env = mergeEnv(env, "DST="+dst, "PATH="+path)
	steps := []struct {
		name string
		dir  string
		args []string
	}{
		{where + " (sh -eu)", exDir, []string{"sh", "-eu", "-c", block.Text}},
		{"go build ./... in $DST", dst, []string{"go", "build", "./..."}},
		{"go vet ./... in $DST", dst, []string{"go", "vet", "./..."}},
	}
	for i, s := range steps {
		r := Run(ctx, Cmd{Dir: s.dir, Env: env, Args: s.args, Timeout: o.Timeout})
		if r.Err != nil {
			return fmt.Errorf("%s: %w\n%s", s.name, r.Err, tail(r.Output, 25))
		}
		if i == 0 {
			if err := noOwnImports(dst, ownPrefix(sec.Module.Path)); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	return nil
}

// noOwnImports fails when a file in dst still names this repository's
// module path: the reader's module cannot import it.
func noOwnImports(dst, own string) error {
	var bad []string
	err := filepath.WalkDir(dst, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || (!strings.HasSuffix(path, ".go") && filepath.Base(path) != "go.mod") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), `"`+own+`/`) {
			rel, _ := filepath.Rel(dst, path)
			bad = append(bad, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("copied files still import %s/...: %s (regenerate or rewrite under the reader's module)", own, strings.Join(bad, ", "))
	}
	return nil
}

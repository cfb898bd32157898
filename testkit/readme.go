package testkit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An example's README shows what `go run` prints as a pair of fenced
// blocks in its Run part: a ```sh block holding exactly one `go run ./...`
// line (other lines, such as env assignments or `make up`, may stand
// before it), followed directly by a ```text block with the output as a
// terminal shows it (stdout and stderr together; `exit status N` as the
// last line when the program fails). `make verify-readme` runs each such
// command and compares; an example's test compares its own run's output
// with the same block through CheckReadme, so the two cannot drift.
//
// Lines that legitimately vary are marked in the README with the ellipsis
// character "…":
//   - "…" inside a line matches any run of characters on that line
//     (a port, a duration, an id): `listening on 127.0.0.1:…`;
//   - a line that is "…" alone matches zero or more whole lines.

// Wildcard is the mark for varying text in a README output block.
const Wildcard = "…"

// RunBlock is one verified pair of a README: the `go run` command and the
// output block that follows it.
type RunBlock struct {
	// Line is the README line number (1-based) of the `go run` command.
	Line int
	// Env holds VAR=value assignments that precede `go run` on its line.
	Env []string
	// Args are the words after `go run`: the package path, then flags.
	Args []string
	// Output is the expected output, one entry per line.
	Output []string
}

// ReadmeRuns parses the README at path and returns its verified pairs in
// order.
func ReadmeRuns(path string) ([]RunBlock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read readme: %w", err)
	}
	type fence struct {
		info  string
		start int // line number of the opening fence
		lines []string
	}
	var blocks []fence
	var cur *fence
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &fence{info: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), start: n}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read readme: %w", err)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: unclosed code block", path, cur.start)
	}
	var runs []RunBlock
	for i := 0; i+1 < len(blocks); i++ {
		cmd, out := blocks[i], blocks[i+1]
		if firstWord(cmd.info) != "sh" || firstWord(out.info) != "text" {
			continue
		}
		var found []RunBlock
		for j, l := range cmd.lines {
			env, args, ok := parseGoRun(l)
			if ok {
				found = append(found, RunBlock{Line: cmd.start + 1 + j, Env: env, Args: args})
			}
		}
		if len(found) != 1 {
			continue
		}
		found[0].Output = out.lines
		runs = append(runs, found[0])
	}
	return runs, nil
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// parseGoRun splits `[VAR=value ...] go run ./pkg [args]` into its parts.
// Values are taken literally: quotes are removed, nothing is expanded.
func parseGoRun(line string) (env, args []string, ok bool) {
	words := splitWords(strings.TrimSpace(line))
	i := 0
	for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
		i++
	}
	if len(words) < i+3 || words[i] != "go" || words[i+1] != "run" || !strings.HasPrefix(words[i+2], "./") {
		return nil, nil, false
	}
	return words[:i], words[i+2:], true
}

// splitWords splits a shell line on blanks, honouring single and double
// quotes (no escapes, no expansion); an unquoted # that starts a word
// starts a comment, which ends the line as in a shell.
func splitWords(s string) []string {
	var words []string
	var b strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		if r == '#' && quote == 0 && !inWord {
			break
		}
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, b.String())
	}
	return words
}

// MatchOutput compares got (a program's output) with want (a README output
// block, Wildcard rules applied) and returns an error describing the first
// difference, or nil. Trailing blank lines on either side are ignored.
func MatchOutput(want []string, got string) error {
	gotLines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if strings.TrimRight(got, "\n") == "" {
		gotLines = nil
	}
	for len(want) > 0 && strings.TrimSpace(want[len(want)-1]) == "" {
		want = want[:len(want)-1]
	}
	if matchLines(want, gotLines) {
		return nil
	}
	return fmt.Errorf("output differs from the README block\n--- README\n%s\n--- got\n%s",
		strings.Join(want, "\n"), strings.Join(gotLines, "\n"))
}

// matchLines matches want against got, with "…" lines matching any number
// of lines (backtracking; blocks are short).
func matchLines(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if strings.TrimSpace(want[0]) == Wildcard {
		for k := 0; k <= len(got); k++ {
			if matchLines(want[1:], got[k:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || !MatchLine(want[0], got[0]) {
		return false
	}
	return matchLines(want[1:], got[1:])
}

// MatchLine reports whether got matches one README line, where each "…"
// stands for any run of characters (possibly empty).
func MatchLine(want, got string) bool {
	parts := strings.Split(want, Wildcard)
	if len(parts) == 1 {
		return want == got
	}
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	got = got[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(got, p)
		if i < 0 {
			return false
		}
		got = got[i+len(p):]
	}
	return strings.HasSuffix(got, last)
}

// CheckReadme fails the test unless got matches output block i (0-based,
// in README order) of the README.md in the test's folder. It is how an
// example's test pins the output its README shows.
func CheckReadme(t testing.TB, i int, got string) {
	t.Helper()
	path := filepath.Join(".", "README.md")
	runs, err := ReadmeRuns(path)
	if err != nil {
		t.Fatalf("CheckReadme: %v", err)
	}
	if i < 0 || i >= len(runs) {
		t.Fatalf("CheckReadme: %s has %d go run/output pairs, want index %d", path, len(runs), i)
	}
	if err := MatchOutput(runs[i].Output, got); err != nil {
		t.Errorf("%s:%d (go run %s): %v", path, runs[i].Line, strings.Join(runs[i].Args, " "), err)
	}
}

// CheckReadmeRuns runs every verified pair of the README.md in the test's
// folder in process, the way `go run` would from the repository root: in
// a subtest with the line's VAR=value assignments set (and variables
// starting with unsetPrefix cleared first, when it is not empty), it calls
// run with the words after the package path and compares what run printed
// — followed by the error and `exit status 1` when it failed, as go run
// shows it — with the pair's output block. Like t.Setenv, it rules out
// t.Parallel.
func CheckReadmeRuns(t *testing.T, unsetPrefix string, run func(t *testing.T, args, env []string, stdout io.Writer) error) {
	t.Helper()
	runs, err := ReadmeRuns("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) == 0 {
		t.Fatal("README.md has no go run/output pair")
	}
	for i, r := range runs {
		var out string
		t.Run(strings.Join(r.Args[1:], "_"), func(t *testing.T) {
			if unsetPrefix != "" {
				UnsetPrefix(t, unsetPrefix)
			}
			for _, kv := range r.Env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			t.Chdir(RepoRoot())
			var stdout bytes.Buffer
			err := run(t, r.Args[1:], r.Env, &stdout)
			out = stdout.String()
			if err != nil {
				out += err.Error() + "\nexit status 1\n"
			}
		})
		CheckReadme(t, i, out)
	}
}

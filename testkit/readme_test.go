package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchLine(t *testing.T) {
	cases := []struct {
		want, got string
		ok        bool
	}{
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"listening on 127.0.0.1:…", "listening on 127.0.0.1:43121", true},
		{"took … ms (… rows)", "took 12 ms (5 rows)", true},
		{"took … ms (… rows)", "took 12 s (5 rows)", false},
		{"a…a", "a", false},
		{"a…a", "aa", true},
		{"…", "", true},
	}
	for _, c := range cases {
		if got := MatchLine(c.want, c.got); got != c.ok {
			t.Errorf("MatchLine(%q, %q) = %v, want %v", c.want, c.got, got, c.ok)
		}
	}
}

func TestMatchOutput(t *testing.T) {
	want := []string{"start", "…", "done in …", ""}
	for _, c := range []struct {
		got string
		ok  bool
	}{
		{"start\ndone in 3ms\n", true},
		{"start\nx\ny\ndone in 3ms\n", true},
		{"start\nx\n", false},
		{"begin\ndone in 3ms\n", false},
		{"start\ndone in 3ms\nextra\n", false},
	} {
		if err := MatchOutput(want, c.got); (err == nil) != c.ok {
			t.Errorf("MatchOutput(%q) = %v, want ok=%v", c.got, err, c.ok)
		}
	}
}

func TestReadmeRuns(t *testing.T) {
	readme := "# T\n\n## Run\n```sh\nmake up\nA=1 B='x y' go run ./01-s/02-e -n 3\n```\n```text\nhello …\n```\n" +
		"A comment ends the line:\n```sh\ngo run ./01-s/04-g -addr 127.0.0.1:0 '#x' a#b   # a free port\n```\n```text\nok\n```\n" +
		"Not verified (no text block):\n```sh\ngo run ./01-s/03-f\n```\n" +
		"Not verified (two runs):\n```sh\ngo run ./a\ngo run ./b\n```\n```text\nx\n```\n"
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(readme), 0o600); err != nil {
		t.Fatal(err)
	}
	runs, err := ReadmeRuns(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("got %d runs, want 2: %+v", len(runs), runs)
	}
	if got := strings.Join(runs[1].Args, "|"); got != "./01-s/04-g|-addr|127.0.0.1:0|#x|a#b" {
		t.Errorf("args with a trailing comment = %q", got)
	}
	r := runs[0]
	if r.Line != 6 || len(r.Env) != 2 || r.Env[1] != "B=x y" || len(r.Args) != 3 || r.Args[0] != "./01-s/02-e" || r.Args[2] != "3" {
		t.Errorf("run = %+v", r)
	}
	if len(r.Output) != 1 || r.Output[0] != "hello …" {
		t.Errorf("output = %q", r.Output)
	}
}

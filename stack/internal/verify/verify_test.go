package verify

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The synthetic repository: one section module whose module path is under
// part4-infrastructure (like ours), one example that prints its greeting,
// fails with -fail and never exits with -hang.
const helloMain = `package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	fail := flag.Bool("fail", false, "fail after printing")
	hang := flag.Bool("hang", false, "never exit")
	flag.Parse()
	fmt.Println("hello", os.Getenv("GREETING"))
	if *hang {
		time.Sleep(time.Hour)
	}
	if *fail {
		fmt.Fprintln(os.Stderr, "run: bad greeting")
		os.Exit(1)
	}
}
`

const helloReadme = "# hello\n\n## Run\n\n```sh\nmake up\nGREETING=hi go run ./01-sec/01-hello\n```\n```text\nhello hi\n```\n\n" +
	"It fails too:\n\n```sh\nGREETING='two words' go run ./01-sec/01-hello -fail\n```\n```text\nhello two…\nrun: bad greeting\nexit status 1\n```\n\n" +
	"## Copy it\n\n```sh copy\nmkdir -p \"$DST/cmd/hello\"\ncp main.go \"$DST/cmd/hello/\"\ncd \"$DST\" && go mod tidy\n```\n"

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func repo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write(t, filepath.Join(root, "go.work"), "go 1.26.0\n\nuse ./01-sec\n")
	write(t, filepath.Join(root, "01-sec", "go.mod"), "module example.com/part4-infrastructure/01-sec\n\ngo 1.26.0\n")
	write(t, filepath.Join(root, "01-sec", "01-hello", "main.go"), helloMain)
	write(t, filepath.Join(root, "01-sec", "01-hello", "README.md"), helloReadme)
	return root
}

func testEnv() []string {
	return mergeEnv(os.Environ(), "GOWORK=", "GREETING=from-the-stack", "GOFLAGS=")
}

func readmeOpts(root string, out *bytes.Buffer) ReadmeOptions {
	return ReadmeOptions{Root: root, Env: testEnv(), Timeout: time.Minute, Examples: []string{"01-sec/01-hello"}, Out: out}
}

func TestVerifyReadmePassesWhenOutputMatches(t *testing.T) {
	root := repo(t)
	var out bytes.Buffer
	if err := VerifyReadmes(t.Context(), readmeOpts(root, &out)); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"ok   01-sec/01-hello/README.md:7: GREETING=hi go run ./01-sec/01-hello", "ok   01-sec/01-hello/README.md:16: GREETING='two words' go run ./01-sec/01-hello -fail", "2 runs of 1 examples"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestVerifyReadmeFailsWhenAnOutputBlockIsEdited(t *testing.T) {
	root := repo(t)
	readme := filepath.Join(root, "01-sec", "01-hello", "README.md")
	write(t, readme, strings.Replace(helloReadme, "hello hi\n", "hello there\n", 1))
	var out bytes.Buffer
	err := VerifyReadmes(t.Context(), readmeOpts(root, &out))
	if err == nil {
		t.Fatalf("edited block passed:\n%s", out.String())
	}
	for _, want := range []string{"FAIL 01-sec/01-hello/README.md:7: GREETING=hi go run ./01-sec/01-hello", "hello there", "--- got\n    hello hi", "ok   01-sec/01-hello/README.md:16:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(err.Error(), "01-sec/01-hello/README.md:7") || strings.Contains(err.Error(), ":16") {
		t.Errorf("error should name line 7 only: %v", err)
	}
}

func TestVerifyReadmeFailsWithoutAVerifiedPair(t *testing.T) {
	root := repo(t)
	// A console block is not verified, nor a sh block with two go run lines.
	write(t, filepath.Join(root, "01-sec", "01-hello", "README.md"),
		"## Run\n```sh\ngo run ./01-sec/01-hello\n```\n```console\nhello\n```\n\n```sh\ngo run ./01-sec/01-hello\ngo run ./01-sec/01-hello -fail\n```\n```text\nhello\n```\n")
	var out bytes.Buffer
	err := VerifyReadmes(t.Context(), readmeOpts(root, &out))
	if err == nil || !strings.Contains(out.String(), "FAIL 01-sec/01-hello/README.md: no verified output") {
		t.Fatalf("got %v\n%s", err, out.String())
	}
}

func TestVerifyReadmeNamesAHungRun(t *testing.T) {
	root := repo(t)
	write(t, filepath.Join(root, "01-sec", "01-hello", "README.md"), "```sh\ngo run ./01-sec/01-hello -hang\n```\n```text\nhello\n```\n")
	o := readmeOpts(root, new(bytes.Buffer))
	o.Timeout = 10 * time.Second
	start := time.Now()
	err := VerifyReadmes(t.Context(), o)
	out := o.Out.(*bytes.Buffer).String()
	if err == nil || !strings.Contains(out, "FAIL 01-sec/01-hello/README.md:2") || !strings.Contains(out, "no exit before the deadline (10s)") {
		t.Fatalf("got %v\n%s", err, out)
	}
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("a hung run held verify-readme for %s", d)
	}
}

func TestRunExamplesNamesAHungExampleAndRunsTheRest(t *testing.T) {
	root := repo(t)
	write(t, filepath.Join(root, "01-sec", "02-hangs", "main.go"), helloMain)
	write(t, filepath.Join(root, "01-sec", "02-hangs", "run.args"), "-hang\n")
	write(t, filepath.Join(root, "01-sec", "03-after", "main.go"), helloMain)
	ex, err := Examples(root, "01-sec")
	if err != nil || strings.Join(ex, " ") != "01-sec/01-hello 01-sec/02-hangs 01-sec/03-after" {
		t.Fatalf("Examples = %v, %v", ex, err)
	}
	var out bytes.Buffer
	err = RunExamples(t.Context(), RunOptions{Root: root, Env: testEnv(), Timeout: 10 * time.Second, Examples: ex, Out: &out})
	if err == nil || !strings.Contains(err.Error(), "01-sec/02-hangs (hung: no exit within 10s; killed)") || strings.Contains(err.Error(), "03-after") {
		t.Fatalf("got %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "=== 01-sec/02-hangs -hang\n") || !strings.Contains(out.String(), "=== 01-sec/03-after \nhello from-the-stack") {
		t.Errorf("headers or later example missing:\n%s", out.String())
	}
}

func copyOpts(root string, out *bytes.Buffer) CopyOptions {
	return CopyOptions{Root: root, Env: testEnv(), Timeout: 2 * time.Minute, Examples: []string{"01-sec/01-hello"}, Out: out}
}

func TestVerifyCopyableFollowsTheCopyBlock(t *testing.T) {
	root := repo(t)
	// The block leaves a mark of where it ran and what $DST is.
	readme := strings.Replace(helloReadme, "cd \"$DST\" && go mod tidy\n",
		"pwd > \"$DST/ran-in\"\nhead -1 \"$DST/go.mod\" > \"$DST/module\"\ncd \"$DST\" && go mod tidy\n", 1)
	readme = strings.Replace(readme, "```sh copy\n", "```sh copy\ncp \"$DST/go.mod\" \"$DST/../go.mod.before\"\n", 1)
	write(t, filepath.Join(root, "01-sec", "01-hello", "README.md"), readme)
	o := copyOpts(root, new(bytes.Buffer))
	o.Keep = true
	var kept []string
	t.Cleanup(func() {
		for _, k := range kept {
			_ = os.RemoveAll(k)
		}
	})
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "verify-copy-*"))
	if err := VerifyCopyable(t.Context(), o); err != nil {
		t.Fatalf("%v\n%s", err, o.Out)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "verify-copy-*"))
	if len(after) != len(before) {
		t.Errorf("a passing copy was kept: %v", after)
	}
	if !strings.Contains(o.Out.(*bytes.Buffer).String(), "ok   01-sec/01-hello") {
		t.Errorf("report: %s", o.Out)
	}
}

func TestVerifyCopyableRunsInTheExampleFolderWithAFreshModule(t *testing.T) {
	root := repo(t)
	probe := filepath.Join(t.TempDir(), "probe")
	readme := strings.Replace(helloReadme, "```sh copy\n",
		"```sh copy\npwd > "+probe+"\nhead -1 \"$DST/go.mod\" >> "+probe+"\ncase \"$DST\" in "+root+"*) exit 9;; esac\n", 1)
	write(t, filepath.Join(root, "01-sec", "01-hello", "README.md"), readme)
	o := copyOpts(root, new(bytes.Buffer))
	if err := VerifyCopyable(t.Context(), o); err != nil {
		t.Fatalf("%v\n%s", err, o.Out)
	}
	data, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, "01-sec", "01-hello") + "\nmodule example.com/copy\n"
	if string(data) != want {
		t.Errorf("block ran in / saw:\n%s\nwant:\n%s", data, want)
	}
}

func TestVerifyCopyableFails(t *testing.T) {
	for _, tt := range []struct {
		name, readme, want string
	}{
		{"no copy block", "## Run\n", "0 ```sh copy blocks"},
		{"a failing command", "```sh copy\ncp missing.go \"$DST/\"\n```\n", "README.md:1 (sh -eu)"},
		{"an unset variable", "```sh copy\ncp main.go \"$DEST/\"\n```\n", "README.md:1 (sh -eu)"},
		{"a copy that imports this repository", "```sh copy\nmkdir -p \"$DST/cmd/x\"\ncp main.go \"$DST/cmd/x/\"\n```\n", "still import example.com/part4-infrastructure/..."},
		{"a copy that does not build", "```sh copy\ncp main.go \"$DST/\"\n```\n", "go build ./... in $DST"},
		{"a copy that go vet rejects", "```sh copy\nmkdir -p \"$DST/cmd/x\"\ncp main.go \"$DST/cmd/x/\"\n```\n", "go vet ./... in $DST"},
		{"an unpinned version", "```sh copy\ncd \"$DST\" && go get github.com/redis/go-redis/v9@latest\n```\n", `"@latest" picks a version`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := repo(t)
			main := helloMain
			if strings.Contains(tt.name, "imports") {
				main = strings.Replace(helloMain, "\"time\"\n", "\"time\"\n\n\t_ \"example.com/part4-infrastructure/01-sec/internal/gen\"\n", 1)
			}
			if strings.Contains(tt.name, "vet") {
				main += "\nfunc vetMe() { fmt.Printf(\"%d\\n\", \"not a number\") }\n"
			}
			if strings.Contains(tt.name, "does not build") {
				main += "\nfunc broken() { undefined() }\n"
			}
			write(t, filepath.Join(root, "01-sec", "01-hello", "main.go"), main)
			write(t, filepath.Join(root, "01-sec", "01-hello", "README.md"), tt.readme)
			o := copyOpts(root, new(bytes.Buffer))
			err := VerifyCopyable(t.Context(), o)
			if err == nil || !strings.Contains(o.Out.(*bytes.Buffer).String(), tt.want) {
				t.Fatalf("got %v, want a failure with %q:\n%s", err, tt.want, o.Out)
			}
			if !strings.Contains(o.Out.(*bytes.Buffer).String(), "FAIL 01-sec/01-hello") {
				t.Errorf("failure does not name the example:\n%s", o.Out)
			}
		})
	}
}

func TestReaderGoModPinsTheSectionsVersions(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), `module github.com/go-course/part4-infrastructure/04-grpc

go 1.26.0

tool google.golang.org/protobuf/cmd/protoc-gen-go

require (
	github.com/go-course/part4-infrastructure/testkit v0.0.0
	google.golang.org/grpc v1.83.2
	google.golang.org/protobuf v1.36.12
)

require golang.org/x/net v0.59.0 // indirect

replace github.com/go-course/part4-infrastructure/testkit => ../testkit
`)
	m, err := readGoMod(context.Background(), dir, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	got := readerGoMod(m)
	want := "module example.com/copy\n\ngo 1.26.0\n\nrequire (\n\tgoogle.golang.org/grpc v1.83.2\n\tgoogle.golang.org/protobuf v1.36.12\n\tgolang.org/x/net v0.59.0 // indirect\n)\n\ntool (\n\tgoogle.golang.org/protobuf/cmd/protoc-gen-go\n)\n"
	if got != want {
		t.Errorf("reader go.mod:\n%s\nwant:\n%s", got, want)
	}
	sum := readerGoSum([]byte("github.com/go-course/part4-infrastructure/testkit v0.0.0 h1:x\ngoogle.golang.org/grpc v1.83.2 h1:y\n"), "github.com/go-course/part4-infrastructure")
	if string(sum) != "google.golang.org/grpc v1.83.2 h1:y\n" {
		t.Errorf("reader go.sum: %q", sum)
	}
}

func TestCheckTreeFindsBinariesAndLargeFiles(t *testing.T) {
	root := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	write(t, filepath.Join(root, "script.sh"), "#!/bin/sh\necho \x00ok\n")
	write(t, filepath.Join(root, "01-sec", "01-hello", "01-hello"), "\x7fELF\x02\x01\x01\x00rest")
	write(t, filepath.Join(root, "data.bin"), "\x00\x01\x02 not executable, small")
	write(t, filepath.Join(root, "stripped"), "no magic but \x00 bytes")
	write(t, filepath.Join(root, "big.txt"), strings.Repeat("x", MaxTrackedSize+1))
	write(t, filepath.Join(root, "fits.txt"), strings.Repeat("x", MaxTrackedSize))
	for _, f := range []string{"script.sh", "01-sec/01-hello/01-hello", "stripped"} {
		if err := os.Chmod(filepath.Join(root, f), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	git("add", ".")
	got, err := CheckTree(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range got {
		paths = append(paths, p.Path)
	}
	if strings.Join(paths, " ") != "01-sec/01-hello/01-hello big.txt stripped" {
		t.Errorf("problems: %v", got)
	}
	AllowLarge["big.txt"] = "test"
	defer delete(AllowLarge, "big.txt")
	got, err = CheckTree(t.Context(), root)
	if err != nil || len(got) != 2 {
		t.Errorf("allow-listed file still reported: %v, %v", got, err)
	}
}

func TestCopyBlocksTakesOnlyShCopyFences(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	write(t, path, "```sh\necho run\n```\n\n```sh copy\ncp a b\n```\n```console\n```sh copy\n```\n")
	got, err := CopyBlocks(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Line != 5 || got[0].Text != "cp a b\n" {
		t.Errorf("CopyBlocks = %+v", got)
	}
}

func TestExamplesListsNumberedFoldersThenApp(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"07-sec/02-b", "07-sec/01-a", "07-sec/app", "07-sec/k8s", "07-sec/03-nomain"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if d != "07-sec/k8s" && d != "07-sec/03-nomain" {
			write(t, filepath.Join(root, d, "main.go"), "package main\n\nfunc main() {}\n")
		}
	}
	ex, err := Examples(root, "07-sec")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ex, " "), "07-sec/01-a 07-sec/02-b 07-sec/app"; got != want {
		t.Fatalf("Examples = %q, want %q", got, want)
	}
}

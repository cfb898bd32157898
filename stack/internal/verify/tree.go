package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MaxTrackedSize is the largest file the repository may track unless
// AllowLarge lists it.
const MaxTrackedSize = 1 << 20

// AllowLarge lists tracked files allowed over MaxTrackedSize, each with
// the reason. Keep it short: build output and data belong elsewhere.
var AllowLarge = map[string]string{
	// (none yet)
}

// TreeProblem is one tracked file that must not be tracked as it is.
type TreeProblem struct {
	Path, Why string
}

// CheckTree lists the tracked files (git ls-files) and reports every
// executable that is a compiled binary (no #! line) and every file over
// MaxTrackedSize that AllowLarge does not list.
func CheckTree(ctx context.Context, root string) ([]TreeProblem, error) {
	r := Run(ctx, Cmd{Dir: root, Env: os.Environ(), Args: []string{"git", "ls-files", "-z", "--stage"}, Timeout: time.Minute})
	if r.Err != nil {
		return nil, fmt.Errorf("git ls-files: %w\n%s", r.Err, tail(r.Output, 5))
	}
	var problems []TreeProblem
	for entry := range strings.SplitSeq(strings.TrimRight(r.Output, "\x00"), "\x00") {
		// <mode> <object> <stage>\t<path>
		meta, path, ok := strings.Cut(entry, "\t")
		if !ok {
			continue
		}
		mode, _, _ := strings.Cut(meta, " ")
		full := filepath.Join(root, filepath.FromSlash(path))
		fi, err := os.Lstat(full)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		bin, err := isBinary(full, mode == "100755")
		if err != nil {
			return nil, err
		}
		if bin {
			problems = append(problems, TreeProblem{path, "a compiled executable is tracked: git rm --cached it (build output is ignored)"})
			continue
		}
		if fi.Size() > MaxTrackedSize {
			if _, ok := AllowLarge[path]; !ok {
				problems = append(problems, TreeProblem{path, fmt.Sprintf("%d bytes, over the 1 MiB limit (add it to AllowLarge in stack/internal/verify/tree.go with a reason, or keep it out)", fi.Size())})
			}
		}
	}
	slices.SortFunc(problems, func(a, b TreeProblem) int { return strings.Compare(a.Path, b.Path) })
	return problems, nil
}

// isBinary reports whether a file is machine code: it starts with an
// ELF, Mach-O or PE magic, or it is executable, has no #! line and its
// start holds a NUL byte.
func isBinary(path string, executable bool) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, err
	}
	head = head[:n]
	if bytes.HasPrefix(head, []byte("#!")) {
		return false, nil
	}
	for _, magic := range [][]byte{{0x7f, 'E', 'L', 'F'}, {0xcf, 0xfa, 0xed, 0xfe}, {0xce, 0xfa, 0xed, 0xfe}, {0xca, 0xfe, 0xba, 0xbe}, []byte("MZ")} {
		if bytes.HasPrefix(head, magic) {
			return true, nil
		}
	}
	return executable && bytes.IndexByte(head, 0) >= 0, nil
}

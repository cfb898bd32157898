package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-course/part4-infrastructure/testkit"
)

// releasedImage is the inventory.v1 contract as released: a buf image built
// with `buf build proto --exclude-source-info -o 06-buf/testdata/inventory-v1.binpb`.
// lint.sh and these tests check every change against it, so the check
// does not depend on git history and gives the same answer on a fresh clone.
const releasedImage = "testdata/inventory-v1.binpb"

const protoFile = "proto/inventory/v1/inventory.proto"

func TestBufBreaking(t *testing.T) {
	t.Parallel()
	buf := bufBinary(t)
	against, err := filepath.Abs(releasedImage)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		old, new string
		rule     string // "" means no breaking change
	}{
		{"unchanged_contract_passes", "", "", ""},
		{"added_field_passes", "  int32 stock = 5;\n", "  int32 stock = 5;\n  string barcode = 12;\n", ""},
		{"removed_field_is_breaking", "  int32 stock = 5;\n", "", "FIELD_NO_DELETE"},
		{"changed_type_is_breaking", "  int32 stock = 5;", "  string stock = 5;", "FIELD_SAME_TYPE"},
		{"renumbered_field_is_breaking", "  string name = 2;", "  string name = 13;", "FIELD_NO_DELETE"},
		{"renamed_rpc_is_breaking", "rpc GetProduct(", "rpc FetchProduct(", "RPC_NO_DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := contractCopy(t, tt.old, tt.new)
			out, err := runBuf(t, buf, dir, "breaking", "proto", "--against", against, "--error-format", "json")
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("buf breaking: %v\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("buf breaking passed; want %s", tt.rule)
			}
			if !strings.Contains(out, `"type":"`+tt.rule+`"`) {
				t.Errorf("buf breaking output lacks %s:\n%s", tt.rule, out)
			}
		})
	}
}

// TestBufBreakingAgainstGitHistory is lint.sh's second check: the
// contract on the main branch is what deployed clients were built from.
func TestBufBreakingAgainstGitHistory(t *testing.T) {
	t.Parallel()
	buf := bufBinary(t)
	root := testkit.RepoRoot()
	ref := "branch=main"
	if err := exec.CommandContext(t.Context(), "git", "-C", root, "rev-parse", "--verify", "--quiet", "main").Run(); err != nil {
		ref = "ref=HEAD" // a clone without a main branch (a detached CI checkout): the last commit
	}
	against := filepath.Join(root, ".git") + "#" + ref + ",subdir=04-grpc/proto"
	if out, err := runBuf(t, buf, contractCopy(t, "", ""), "breaking", "proto", "--against", against); err != nil {
		t.Fatalf("the contract breaks main's: %v\n%s", err, out)
	}
	dir := contractCopy(t, "  int32 stock = 5;\n", "")
	out, err := runBuf(t, buf, dir, "breaking", "proto", "--against", against, "--error-format", "json")
	if err == nil || !strings.Contains(out, `"type":"FIELD_NO_DELETE"`) {
		t.Errorf("a deleted field against main: %v, want FIELD_NO_DELETE in:\n%s", err, out)
	}
}

func TestBufLint(t *testing.T) {
	t.Parallel()
	buf := bufBinary(t)
	tests := []struct {
		name     string
		old, new string
		rule     string
	}{
		{"contract_passes_standard", "", "", ""},
		{"enum_zero_value_must_be_unspecified", "CATEGORY_UNSPECIFIED = 0", "CATEGORY_NONE = 0", "ENUM_ZERO_VALUE_SUFFIX"},
		{"field_names_are_lower_snake_case", "int64 price_cents = 3", "int64 priceCents = 3", "FIELD_LOWER_SNAKE_CASE"},
		{"rpc_request_named_after_rpc", "rpc GetProduct(GetProductRequest)", "rpc GetProduct(ListProductsRequest)", "RPC_REQUEST_STANDARD_NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := contractCopy(t, tt.old, tt.new)
			out, err := runBuf(t, buf, dir, "lint", "--error-format", "json")
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("buf lint: %v\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, `"type":"`+tt.rule+`"`) {
				t.Errorf("buf lint: %v, want %s in:\n%s", err, tt.rule, out)
			}
		})
	}
}

// TestManagedModeGeneratesUnderAnotherModule is what a reader's Copy it
// block does: buf.gen.copy.yaml with managed mode generates the contract
// under the reader's module path, with no edit to the .proto files, and
// the result builds there.
func TestManagedModeGeneratesUnderAnotherModule(t *testing.T) {
	t.Parallel()
	buf := bufBinary(t)
	dir := contractCopy(t, "", "")
	cfg, err := os.ReadFile("../buf.gen.copy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "buf.gen.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	// The plugins: protoc-gen-go pinned by this module's go.mod, the others
	// from .stack/bin; nothing from PATH.
	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	goBuild := exec.CommandContext(ctx, "go", "build", "-o", bin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	if out, err := goBuild.CombinedOutput(); err != nil {
		t.Fatalf("build protoc-gen-go: %v\n%s", err, out)
	}
	for _, name := range []string{"protoc-gen-go-grpc", "protoc-gen-grpc-gateway"} {
		if err := os.Symlink(pinnedTool(t, name), filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	gen := exec.CommandContext(ctx, buf, "generate")
	gen.Dir = dir
	gen.Env = append(os.Environ(), "PATH="+bin, "BUF_CACHE_DIR="+t.TempDir())
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("buf generate: %v\n%s", err, out)
	}
	for _, f := range []string{"inventory.pb.go", "inventory_grpc.pb.go", "inventory.pb.gw.go"} {
		src, err := os.ReadFile(filepath.Join(dir, "gen/inventory/v1", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(src, []byte("package inventoryv1")) || bytes.Contains(src, []byte("go-course")) {
			t.Errorf("%s: not generated as package inventoryv1 of the reader's module", f)
		}
	}
	build := exec.CommandContext(ctx, "sh", "-c",
		"go mod init example.com/copy && go mod tidy && go build ./...")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the generated code: %v\n%s", err, out)
	}
}

// bufBinary returns the pinned buf that `make tools` builds into
// .stack/bin. Never one found on PATH: another version lints and breaks
// differently.
func bufBinary(t *testing.T) string {
	t.Helper()
	return pinnedTool(t, "buf")
}

// pinnedTool returns .stack/bin/name, or skips (fails under
// INFRA_REQUIRED=1) when make tools has not built it.
func pinnedTool(t *testing.T, name string) string {
	t.Helper()
	pinned := filepath.Join(testkit.RepoRoot(), ".stack", "bin", name)
	if _, err := os.Stat(pinned); err == nil {
		return pinned
	}
	msg := name + " not found in .stack/bin — run make tools"
	if os.Getenv(testkit.RequiredEnv) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// contractCopy copies the buf workspace (buf.yaml, proto/, third_party/)
// into a temporary folder, replacing old with new in the contract once.
func contractCopy(t *testing.T, old, new string) string {
	t.Helper()
	dst := t.TempDir()
	for _, d := range []string{"proto", "third_party"} {
		if err := os.CopyFS(filepath.Join(dst, d), os.DirFS(filepath.Join("..", d))); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := os.ReadFile("../buf.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "buf.yaml"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if old == "" {
		return dst
	}
	path := filepath.Join(dst, protoFile)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(old)) {
		t.Fatalf("%s does not contain %q", protoFile, old)
	}
	if err := os.WriteFile(path, bytes.Replace(src, []byte(old), []byte(new), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

func runBuf(t *testing.T, buf, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, buf, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BUF_CACHE_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

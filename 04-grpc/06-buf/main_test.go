package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/testkit"
)

// TestReadme runs the README's commands from the repository root, where
// the image paths are, and compares their output.
func TestReadme(t *testing.T) {
	runs, err := testkit.ReadmeRuns("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("README.md has %d go run/output pairs, want 2", len(runs))
	}
	for i, r := range runs {
		var out string
		t.Run(strings.Join(r.Args[1:], "_"), func(t *testing.T) {
			t.Chdir(testkit.RepoRoot())
			var stdout bytes.Buffer
			err := run(t.Context(), r.Args[1:], func(string) string { return "" }, &stdout)
			out = stdout.String()
			if err != nil {
				out += "buf-contract: " + err.Error() + "\nexit status 1\n"
			}
		})
		testkit.CheckReadme(t, i, out)
	}
}

// TestCompareFindsEachBreakingChange edits this build's contract the ways
// that break deployed clients and checks that compare names each one.
func TestCompareFindsEachBreakingChange(t *testing.T) {
	t.Parallel()
	current := inventoryv1.File_inventory_v1_inventory_proto
	fdp := protodesc.ToFileDescriptorProto(current)
	for _, m := range fdp.GetMessageType() {
		switch m.GetName() {
		case "Product":
			for _, f := range m.GetField() {
				switch f.GetName() {
				case "stock":
					f.Type = descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
				case "name":
					f.Name, f.JsonName = new("title"), new("title")
				}
			}
			m.Field = slices.DeleteFunc(m.Field, func(f *descriptorpb.FieldDescriptorProto) bool { return f.GetNumber() == 3 })
		case "ImportStockResponse":
			m.Name = new("ImportResult")
		}
	}
	svc := fdp.GetService()[0]
	svc.Method = slices.DeleteFunc(svc.Method, func(m *descriptorpb.MethodDescriptorProto) bool {
		return m.GetName() == "WatchStock"
	})
	for _, m := range svc.GetMethod() {
		if m.GetName() == "ImportStock" {
			m.OutputType = new(".inventory.v1.ImportResult")
		}
	}
	edited, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	got := compare(current, edited)
	want := []string{
		"field 2 of inventory.v1.Product renamed: name -> title (breaks JSON)",
		"field inventory.v1.Product.price_cents (3) deleted",
		"field inventory.v1.Product.stock (5) changed type: int32 -> string",
		"message inventory.v1.ImportStockResponse deleted",
		"RPC inventory.v1.InventoryService.ImportStock changed its request or response",
		"RPC inventory.v1.InventoryService.WatchStock deleted",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("compare found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if same := compare(current, current); len(same) != 0 {
		t.Errorf("the contract against itself: %v", same)
	}
}

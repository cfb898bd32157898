// Command buf-contract checks the inventory contract compiled into this
// binary against the released one (a buf image), the way `buf breaking`
// does for the wire: every released message field keeps its number, name
// and type, every released RPC its request and response.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "buf-contract:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("buf-contract", flag.ContinueOnError)
	against := fs.String("against", cmp.Or(getenv("CONTRACT_IMAGE"), "04-grpc/06-buf/testdata/inventory-v1.binpb"),
		"released contract: a buf image (buf build -o FILE.binpb)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -help printed the usage: not a failure
		}
		return err
	}
	released, err := readImage(*against)
	if err != nil {
		return err
	}
	current := inventoryv1.File_inventory_v1_inventory_proto
	old, err := released.FindFileByPath(current.Path())
	if err != nil {
		return fmt.Errorf("%s: %w", *against, err)
	}
	fmt.Fprintf(stdout, "released: %s, %d messages, %d RPCs\n", old.Path(), old.Messages().Len(), old.Services().Get(0).Methods().Len())
	fmt.Fprintf(stdout, "this build: %s, %d messages, %d RPCs\n", current.Path(), current.Messages().Len(), current.Services().Get(0).Methods().Len())
	problems := compare(old, current)
	for _, p := range problems {
		fmt.Fprintln(stdout, "breaking:", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d breaking changes against %s", len(problems), *against)
	}
	fmt.Fprintln(stdout, "wire compatible with the release")
	return nil
}

// readImage loads a buf image: it is a FileDescriptorSet on the wire, with
// every imported file included.
func readImage(path string) (*protoregistry.Files, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("decode image %s: %w", path, err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", path, err)
	}
	return files, nil
}

// compare lists what a client built from old would break on with now.
func compare(old, now protoreflect.FileDescriptor) []string {
	var problems []string
	for i := range old.Messages().Len() {
		om := old.Messages().Get(i)
		nm := now.Messages().ByName(om.Name())
		if nm == nil {
			problems = append(problems, fmt.Sprintf("message %s deleted", om.FullName()))
			continue
		}
		for j := range om.Fields().Len() {
			of := om.Fields().Get(j)
			nf := nm.Fields().ByNumber(of.Number())
			switch {
			case nf == nil:
				problems = append(problems, fmt.Sprintf("field %s (%d) deleted", of.FullName(), of.Number()))
			case nf.Kind() != of.Kind() || nf.Cardinality() != of.Cardinality():
				problems = append(problems, fmt.Sprintf("field %s (%d) changed type: %s -> %s",
					of.FullName(), of.Number(), of.Kind(), nf.Kind()))
			case nf.Name() != of.Name():
				problems = append(problems, fmt.Sprintf("field %d of %s renamed: %s -> %s (breaks JSON)",
					of.Number(), om.FullName(), of.Name(), nf.Name()))
			}
		}
	}
	for i := range old.Services().Len() {
		svc := old.Services().Get(i)
		ns := now.Services().ByName(svc.Name())
		for j := range svc.Methods().Len() {
			om := svc.Methods().Get(j)
			var nm protoreflect.MethodDescriptor
			if ns != nil {
				nm = ns.Methods().ByName(om.Name())
			}
			switch {
			case nm == nil:
				problems = append(problems, fmt.Sprintf("RPC %s deleted", om.FullName()))
			case nm.Input().FullName() != om.Input().FullName() || nm.Output().FullName() != om.Output().FullName():
				problems = append(problems, fmt.Sprintf("RPC %s changed its request or response", om.FullName()))
			}
		}
	}
	return problems
}

// Command protobuf shows the Go types generated from the inventory.v1
// contract: oneof, enums, well-known types, optional presence, field masks,
// the binary and JSON encodings, and why a removed field is reserved.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "protobuf:", err)
		os.Exit(1)
	}
}

func run(_ context.Context, _ func(string) string, stdout io.Writer) error {
	p := &inventoryv1.Product{
		Sku:        "FOOD-007",
		Name:       "Coffee beans 1kg",
		PriceCents: 2450,
		Category:   inventoryv1.Category_CATEGORY_FOOD,
		Stock:      40,
		// Well-known types carry time with their own wire format and JSON.
		UpdatedAt:       timestamppb.New(time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)),
		RestockLeadTime: durationpb.New(24 * time.Hour),
		// A oneof is an interface field; each case is its own wrapper type.
		Source: &inventoryv1.Product_Plant{Plant: "Riga roastery"},
	}
	fmt.Fprintf(stdout, "product %s %q %s stock=%d\n",
		p.GetSku(), p.GetName(), p.GetCategory(), p.GetStock())
	switch src := p.GetSource().(type) {
	case *inventoryv1.Product_Supplier:
		fmt.Fprintf(stdout, "source: supplier %q\n", src.Supplier)
	case *inventoryv1.Product_Plant:
		fmt.Fprintf(stdout, "source: plant %q\n", src.Plant)
	case nil:
		fmt.Fprintln(stdout, "source: not set")
	}

	// `optional` gives a pointer: "not set" and "" are different values.
	fmt.Fprintf(stdout, "description set: %t\n", p.Description != nil)
	fmt.Fprintf(stdout, "updated_at: %s, restock lead time: %s\n",
		p.GetUpdatedAt().AsTime().Format(time.RFC3339), p.GetRestockLeadTime().AsDuration())

	// proto3 enums are open: a number this binary does not know survives
	// decoding, so the server must validate it (CATEGORY_UNSPECIFIED = 0 is
	// what an unset field reads as).
	fmt.Fprintf(stdout, "unset category: %s, unknown category: %s\n",
		inventoryv1.Category(0), inventoryv1.Category(99))

	// A FieldMask names fields by their proto names; New checks them.
	for _, paths := range [][]string{{"name", "price_cents"}, {"weight_grams"}} {
		if _, err := fieldmaskpb.New(&inventoryv1.Product{}, paths...); err != nil {
			// protobuf-go errors vary their spacing on purpose; print our own words.
			fmt.Fprintf(stdout, "read mask %v: rejected, not fields of inventory.v1.Product\n", paths)
			continue
		}
		fmt.Fprintf(stdout, "read mask %v: ok\n", paths)
	}

	bin, err := proto.Marshal(p)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	js, err := protojson.Marshal(p)
	if err != nil {
		return fmt.Errorf("marshal json: %w", err)
	}
	// protojson varies its whitespace on purpose so nobody depends on it;
	// compacting gives stable bytes to print.
	var compact bytes.Buffer
	if err := json.Compact(&compact, js); err != nil {
		return fmt.Errorf("compact json: %w", err)
	}
	fmt.Fprintf(stdout, "binary: %d bytes, json: %d bytes\n", len(bin), compact.Len())
	fmt.Fprintf(stdout, "json: %s\n", compact.String())

	return oldWriter(stdout)
}

// oldWriter decodes bytes from a writer built before weight_grams (field 9)
// was removed. The new reader keeps field 9 as unknown bytes and writes them
// back, so a message passing through a newer service loses nothing. That is
// why the number is reserved: reusing 9 for another field would misread it.
func oldWriter(stdout io.Writer) error {
	var old []byte
	old = protowire.AppendTag(old, 1, protowire.BytesType)
	old = protowire.AppendString(old, "HW-042")
	old = protowire.AppendTag(old, 9, protowire.VarintType) // weight_grams
	old = protowire.AppendVarint(old, 35)

	var p inventoryv1.Product
	if err := proto.Unmarshal(old, &p); err != nil {
		return fmt.Errorf("decode old bytes: %w", err)
	}
	again, err := proto.Marshal(&p)
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	fmt.Fprintf(stdout, "old bytes: sku=%s, %d unknown bytes kept, re-encoded identical: %t\n",
		p.GetSku(), len(p.ProtoReflect().GetUnknown()), bytes.Equal(old, again))
	return nil
}

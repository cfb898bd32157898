package main

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/testkit"
)

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// productV0 is inventory.v1.Product as it was before weight_grams (9) was
// removed and category, stock, ... were added: the old version of the
// message, built at run time so the test needs no second generated package.
func productV0(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		}
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("inventory/v0/product.proto"),
		Package: proto.String("inventory.v0"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Product"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("sku", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				field("name", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING),
				field("price_cents", 3, descriptorpb.FieldDescriptorProto_TYPE_INT64),
				field("weight_grams", 9, descriptorpb.FieldDescriptorProto_TYPE_INT64),
			},
		}},
	}, nil)
	if err != nil {
		t.Fatalf("build old descriptor: %v", err)
	}
	return fd.Messages().ByName("Product")
}

func TestOldBytesThroughNewReaderKeepRemovedField(t *testing.T) {
	t.Parallel()
	md := productV0(t)
	old := dynamicpb.NewMessage(md)
	old.Set(md.Fields().ByName("sku"), protoreflect.ValueOfString("HW-042"))
	old.Set(md.Fields().ByName("name"), protoreflect.ValueOfString("USB-C cable"))
	old.Set(md.Fields().ByName("price_cents"), protoreflect.ValueOfInt64(899))
	old.Set(md.Fields().ByName("weight_grams"), protoreflect.ValueOfInt64(35))
	oldBytes, err := proto.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}

	var p inventoryv1.Product
	if err := proto.Unmarshal(oldBytes, &p); err != nil {
		t.Fatalf("new reader: %v", err)
	}
	if p.GetSku() != "HW-042" || p.GetName() != "USB-C cable" || p.GetPriceCents() != 899 {
		t.Errorf("new reader got %v", &p)
	}
	if len(p.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("new reader dropped the removed field instead of keeping it as unknown")
	}

	// Back to the old reader: the field the new version does not know is intact.
	newBytes, err := proto.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	back := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(newBytes, back); err != nil {
		t.Fatalf("old reader: %v", err)
	}
	if !proto.Equal(old, back) {
		t.Errorf("round trip changed the message:\n got %v\nwant %v", back, old)
	}
}

func TestNewBytesThroughOldReaderKeepAddedFields(t *testing.T) {
	t.Parallel()
	p := &inventoryv1.Product{
		Sku: "HW-042", Name: "USB-C cable", PriceCents: 899,
		Category: inventoryv1.Category_CATEGORY_HARDWARE, Stock: 150,
		Description:     proto.String(""),
		RestockLeadTime: durationpb.New(time.Hour),
		Source:          &inventoryv1.Product_Supplier{Supplier: "Acme Cables"},
	}
	newBytes, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	md := productV0(t)
	old := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(newBytes, old); err != nil {
		t.Fatalf("old reader: %v", err)
	}
	if got := old.Get(md.Fields().ByName("sku")).String(); got != "HW-042" {
		t.Errorf("old reader sku = %q", got)
	}
	if old.Has(md.Fields().ByName("weight_grams")) {
		t.Error("old reader sees weight_grams that nobody wrote")
	}
	oldBytes, err := proto.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	var back inventoryv1.Product
	if err := proto.Unmarshal(oldBytes, &back); err != nil {
		t.Fatalf("new reader: %v", err)
	}
	// Presence survives too: description was set to "" and still is.
	if !proto.Equal(p, &back) || back.Description == nil {
		t.Errorf("round trip through the old reader changed the message:\n got %v\nwant %v", &back, p)
	}
}

func TestContractReservesRemovedField(t *testing.T) {
	t.Parallel()
	md := (&inventoryv1.Product{}).ProtoReflect().Descriptor()
	if !md.ReservedRanges().Has(9) {
		t.Error("field number 9 is not reserved")
	}
	if !md.ReservedNames().Has("weight_grams") {
		t.Error(`name "weight_grams" is not reserved`)
	}
	if _, err := fieldmaskpb.New(&inventoryv1.Product{}, "weight_grams"); err == nil {
		t.Error("a field mask naming the removed field was accepted")
	}
}

func TestUnknownEnumValueSurvivesDecoding(t *testing.T) {
	t.Parallel()
	b, err := proto.Marshal(&inventoryv1.Product{Category: inventoryv1.Category(99)})
	if err != nil {
		t.Fatal(err)
	}
	var p inventoryv1.Product
	if err := proto.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.GetCategory() != 99 {
		t.Errorf("category = %d, want 99: proto3 enums are open", p.GetCategory())
	}
}

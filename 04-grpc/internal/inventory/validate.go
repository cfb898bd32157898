package inventory

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// Limits of the contract, checked by Validate.
const (
	MaxLimit    = 1000
	MaxQuantity = 100_000
	// MaxImportLines keeps one import's total within int32.
	MaxImportLines = 10_000
	// MaxWatch bounds the subscriptions (and the memory) of one stream.
	MaxWatch = 100
	maxName  = 200
	maxDesc  = 1000
)

var skuPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{2,31}$`)

// Validate checks a request of InventoryService. The rules are written by
// hand in Go (protovalidate would need its .proto from the Buf Schema
// Registry at generation time). A bad request gives InvalidArgument whose
// message names every bad field and whose details carry an
// errdetails.BadRequest with one FieldViolation per field, for clients that
// map errors onto form fields.
func Validate(m proto.Message) error {
	var v violations
	switch m := m.(type) {
	case *inventoryv1.GetProductRequest:
		v.sku("sku", m.GetSku())
		fields := (&inventoryv1.Product{}).ProtoReflect().Descriptor().Fields()
		for _, path := range m.GetReadMask().GetPaths() {
			if fields.ByName(protoreflect.Name(path)) == nil {
				v.add("read_mask", fmt.Sprintf("unknown product field %q", path))
			}
		}
	case *inventoryv1.CreateProductRequest:
		if m.GetProduct() == nil {
			v.add("product", "is required")
			break
		}
		v.product("product.", m.GetProduct())
	case *inventoryv1.ListProductsRequest:
		v.category("category", m.GetCategory(), true)
		if l := m.GetLimit(); l < 0 || l > MaxLimit {
			v.add("limit", fmt.Sprintf("must be between 0 and %d, got %d", MaxLimit, l))
		}
	case *inventoryv1.ImportStockRequest:
		v.sku("sku", m.GetSku())
		if q := m.GetQuantity(); q < 1 || q > MaxQuantity {
			v.add("quantity", fmt.Sprintf("must be between 1 and %d, got %d", MaxQuantity, q))
		}
	case *inventoryv1.WatchStockRequest:
		v.sku("sku", m.GetSku())
	}
	return v.err()
}

// validateLine validates message n (1-based) of a stream: the same field
// violations as Validate, with the line number in the message.
func validateLine(n int32, m proto.Message) error {
	err := Validate(m)
	if err == nil {
		return nil
	}
	p := status.Convert(err).Proto()
	p.Message = fmt.Sprintf("line %d: %s", n, p.GetMessage())
	return status.FromProto(p).Err()
}

type violations []*errdetails.BadRequest_FieldViolation

func (v *violations) add(field, desc string) {
	*v = append(*v, &errdetails.BadRequest_FieldViolation{Field: field, Description: desc})
}

func (v *violations) sku(field, sku string) {
	if !skuPattern.MatchString(sku) {
		v.add(field, fmt.Sprintf("must be 3-32 characters of A-Z, 0-9 and '-', got %q", sku))
	}
}

func (v *violations) category(field string, c inventoryv1.Category, unspecifiedOK bool) {
	switch {
	case c == inventoryv1.Category_CATEGORY_UNSPECIFIED && !unspecifiedOK:
		v.add(field, "is required")
	case inventoryv1.Category_name[int32(c)] == "":
		// proto3 enums are open: an unknown number decodes without error.
		v.add(field, fmt.Sprintf("unknown category %d", c))
	}
}

func (v *violations) product(prefix string, p *inventoryv1.Product) {
	v.sku(prefix+"sku", p.GetSku())
	if n := utf8.RuneCountInString(p.GetName()); n < 1 || n > maxName {
		v.add(prefix+"name", fmt.Sprintf("must be 1-%d characters", maxName))
	}
	if p.GetPriceCents() <= 0 {
		v.add(prefix+"price_cents", "must be positive")
	}
	v.category(prefix+"category", p.GetCategory(), false)
	if p.GetStock() < 0 {
		v.add(prefix+"stock", "must not be negative")
	}
	if p.Description != nil && utf8.RuneCountInString(p.GetDescription()) > maxDesc {
		v.add(prefix+"description", fmt.Sprintf("must be at most %d characters", maxDesc))
	}
	if d := p.GetRestockLeadTime(); d != nil && (d.CheckValid() != nil || d.AsDuration() < 0) {
		v.add(prefix+"restock_lead_time", "must be a valid non-negative duration")
	}
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	msgs := make([]string, len(v))
	for i, fv := range v {
		msgs[i] = fv.GetField() + ": " + fv.GetDescription()
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(msgs, "; "))
	detailed, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: v})
	if err != nil {
		return st.Err() // details are a bonus; the message already names the fields
	}
	return detailed.Err()
}

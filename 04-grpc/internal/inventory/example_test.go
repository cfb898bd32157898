package inventory_test

import (
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

func ExampleValidate() {
	err := inventory.Validate(&inventoryv1.CreateProductRequest{Product: &inventoryv1.Product{
		Sku: "TEA-100", Name: "Green tea", PriceCents: 0, Category: 42,
	}})
	st := status.Convert(err)
	fmt.Println(st.Code())
	fmt.Println(st.Message())
	for _, d := range st.Details() {
		for _, v := range d.(*errdetails.BadRequest).GetFieldViolations() {
			fmt.Printf("%s: %s\n", v.GetField(), v.GetDescription())
		}
	}
	fmt.Println(inventory.Validate(&inventoryv1.GetProductRequest{Sku: "TEA-100"}))
	// Output:
	// InvalidArgument
	// invalid request: product.price_cents: must be positive; product.category: unknown category 42
	// product.price_cents: must be positive
	// product.category: unknown category 42
	// <nil>
}

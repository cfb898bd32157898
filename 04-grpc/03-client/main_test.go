package main

import (
	"bytes"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// TestMain fails the package when a goroutine outlives the tests: the
// cancelled and deadline-bound streams must leave nothing behind on either
// side.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var wantOutput = []string{
	`GetProduct BOOK-001: "The Go Programming Language", 3999 cents (x-request-id: demo-1)`,
	`GetProduct book-1: InvalidArgument`,
	`  field sku: must be 3-32 characters of A-Z, 0-9 and '-', got "book-1"`,
	`GetProduct BOOK-999: NotFound`,
	`ListProducts: BOOK-001 FOOD-007 HW-042`,
	`WatchStock cancelled by the client: Canceled`,
	`WatchStock HW-042: 150`,
	`ImportStock: 2 lines, 30 units`,
	`WatchStock HW-042: 175`,
	`WatchStock with a 100ms deadline: DeadlineExceeded`,
}

func TestRunAgainstLocalServer(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	checkOutput(t, out.String())
}

// TestRunAgainstServerOverTCP points the client at a separate server, as
// GRPC_ADDR does, and checks the effect of the import on that server.
func TestRunAgainstServerOverTCP(t *testing.T) {
	t.Parallel()
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := inventory.NewServer(time.Now, inventory.Catalog(time.Now())...)
	srv := grpc.NewServer()
	inventoryv1.RegisterInventoryServiceServer(srv, svc)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	// GracefulStop returns only when every handler has returned: the
	// client's cancelled and expired streams ended on the server too.
	defer func() {
		srv.GracefulStop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	getenv := func(k string) string {
		if k == "GRPC_ADDR" {
			return lis.Addr().String()
		}
		return ""
	}
	var out bytes.Buffer
	if err := run(t.Context(), nil, getenv, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	checkOutput(t, out.String())

	res, err := svc.GetProduct(t.Context(), &inventoryv1.GetProductRequest{Sku: "BOOK-001"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.GetProduct().GetStock(); got != 17 {
		t.Errorf("BOOK-001 stock on the server = %d, want 12+5", got)
	}
}

func TestRunReportsUnreachableServer(t *testing.T) {
	t.Parallel()
	// A port that was free a moment ago: nothing listens there now.
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(t.Context(), []string{"-addr", addr}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("run against %s: %v, want an Unavailable error", addr, err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q before the first call succeeded", out.String())
	}
}

func TestRunRejectsUnknownFlag(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }
	var out bytes.Buffer
	err := run(t.Context(), []string{"-port", "1"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "flag provided but not defined: -port") {
		t.Fatalf("run -port 1: %v, want the unknown flag named", err)
	}
	if out.Len() != 0 {
		t.Errorf("called the server despite a bad flag: %q", out.String())
	}
	if err := run(t.Context(), []string{"-help"}, noEnv, &out); err != nil || out.Len() != 0 {
		t.Errorf("run -help: %v, output %q; want usage only, no error", err, out.String())
	}
}

func checkOutput(t *testing.T, out string) {
	t.Helper()
	if got := strings.Split(strings.TrimSpace(out), "\n"); !slices.Equal(got, wantOutput) {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOutput, "\n"))
	}
}

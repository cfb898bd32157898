package main

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
	"github.com/go-course/part4-infrastructure/testkit"
)

// TestMain fails the package when a goroutine outlives the tests: the
// cancelled and deadline-bound streams must leave nothing behind on either
// side.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRunAgainstLocalServer(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(t.Context(), nil, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())
}

// TestLocalServerStopHasADeadline: a stream the client never ends does
// not keep the in-process server's stop waiting for ever.
func TestLocalServerStopHasADeadline(t *testing.T) {
	t.Parallel()
	addr, stop, err := startLocal(t.Context(), 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w, err := inventoryv1.NewInventoryServiceClient(conn).WatchStock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&inventoryv1.WatchStockRequest{Sku: "HW-042"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil { // the handler runs
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("stop still waits for an endless stream")
	}
	if _, err := w.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("stream after the forced stop: %v, want Unavailable", err)
	}
}

// TestRunAgainstServerOverTCP points the client at a separate server, as
// GRPC_TARGET does, and checks the effect of the import on that server.
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
	// client's cancelled and expired streams ended on the server too. A
	// handler left running fails the test instead of hanging it.
	defer func() {
		stopped := make(chan struct{})
		go func() { srv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			t.Error("a stream handler still runs after the client finished")
			srv.Stop()
			<-stopped
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	getenv := func(k string) string {
		if k == "GRPC_TARGET" {
			return lis.Addr().String()
		}
		return ""
	}
	var out bytes.Buffer
	if err := run(t.Context(), nil, getenv, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	testkit.CheckReadme(t, 0, out.String())

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
	err = run(t.Context(), []string{"-target", addr}, func(string) string { return "" }, &out)
	if err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("run against %s: %v, want an Unavailable error", addr, err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q before the first call succeeded", out.String())
	}
	testkit.CheckReadme(t, 1, "client: "+err.Error()+"\nexit status 1\n")
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

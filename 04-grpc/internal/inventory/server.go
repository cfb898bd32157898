// Package inventory implements inventory.v1.InventoryService in memory. It
// is the service behind every example of section 4.4: the examples differ
// in how they serve, call, intercept and expose it, not in what it does.
package inventory

import (
	"context"
	"errors"
	"io"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// RequestIDKey is the metadata key a client may set; the server echoes it
// in the response header so both sides can log the same id.
const RequestIDKey = "x-request-id"

// Server is an in-memory InventoryService. The zero value is not usable:
// call NewServer.
type Server struct {
	inventoryv1.UnimplementedInventoryServiceServer

	now func() time.Time

	mu       sync.Mutex
	products map[string]*inventoryv1.Product
	// changed is closed and replaced on every stock change: a broadcast
	// that WatchStock streams wait on without a goroutine per watcher.
	changed chan struct{}
}

// NewServer returns a server holding products; now stamps updated_at
// (pass a fixed clock for reproducible output).
func NewServer(now func() time.Time, products ...*inventoryv1.Product) *Server {
	s := &Server{now: now, products: map[string]*inventoryv1.Product{}, changed: make(chan struct{})}
	for _, p := range products {
		s.products[p.GetSku()] = proto.CloneOf(p)
	}
	return s
}

// Catalog is the demo data every example starts from.
func Catalog(at time.Time) []*inventoryv1.Product {
	ts := timestamppb.New(at)
	return []*inventoryv1.Product{
		{
			Sku: "BOOK-001", Name: "The Go Programming Language", PriceCents: 3999,
			Category: inventoryv1.Category_CATEGORY_BOOKS, Stock: 12, UpdatedAt: ts,
			RestockLeadTime: durationpb.New(72 * time.Hour),
			Source:          &inventoryv1.Product_Supplier{Supplier: "Addison-Wesley"},
		},
		{
			Sku: "FOOD-007", Name: "Coffee beans 1kg", PriceCents: 2450,
			Category: inventoryv1.Category_CATEGORY_FOOD, Stock: 40, UpdatedAt: ts,
			RestockLeadTime: durationpb.New(24 * time.Hour),
			Source:          &inventoryv1.Product_Plant{Plant: "Riga roastery"},
		},
		{
			Sku: "HW-042", Name: "USB-C cable", PriceCents: 899,
			Category: inventoryv1.Category_CATEGORY_HARDWARE, Stock: 150, UpdatedAt: ts,
			Description: proto.String("1 m, 60 W"),
			Source:      &inventoryv1.Product_Supplier{Supplier: "Acme Cables"},
		},
	}
}

// GetProduct is the unary RPC.
func (s *Server) GetProduct(ctx context.Context, req *inventoryv1.GetProductRequest) (*inventoryv1.GetProductResponse, error) {
	if err := Validate(req); err != nil {
		return nil, err
	}
	echoRequestID(ctx)
	s.mu.Lock()
	p, ok := s.products[req.GetSku()]
	if ok {
		p = proto.CloneOf(p)
	}
	s.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "product %s not found", req.GetSku())
	}
	return &inventoryv1.GetProductResponse{Product: applyMask(p, req.GetReadMask().GetPaths())}, nil
}

// CreateProduct is a unary RPC that writes.
func (s *Server) CreateProduct(ctx context.Context, req *inventoryv1.CreateProductRequest) (*inventoryv1.CreateProductResponse, error) {
	if err := Validate(req); err != nil {
		return nil, err
	}
	echoRequestID(ctx)
	p := proto.CloneOf(req.GetProduct())
	p.UpdatedAt = timestamppb.New(s.now())
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[p.GetSku()]; ok {
		return nil, status.Errorf(codes.AlreadyExists, "product %s already exists", p.GetSku())
	}
	s.products[p.GetSku()] = p
	s.notifyLocked()
	return &inventoryv1.CreateProductResponse{Product: proto.CloneOf(p)}, nil
}

// ListProducts is the server-streaming RPC: one message per product, so a
// large catalog never sits in one message or in the client's memory.
func (s *Server) ListProducts(req *inventoryv1.ListProductsRequest, stream grpc.ServerStreamingServer[inventoryv1.ListProductsResponse]) error {
	if err := Validate(req); err != nil {
		return err
	}
	ctx := stream.Context()
	echoRequestID(ctx)
	s.mu.Lock()
	var list []*inventoryv1.Product
	for _, sku := range slices.Sorted(maps.Keys(s.products)) {
		p := s.products[sku]
		if req.GetCategory() == inventoryv1.Category_CATEGORY_UNSPECIFIED || p.GetCategory() == req.GetCategory() {
			list = append(list, proto.CloneOf(p))
		}
	}
	s.mu.Unlock()
	if n := int(req.GetLimit()); n > 0 && n < len(list) {
		list = list[:n]
	}
	for _, p := range list {
		// A cancelled client or an expired deadline ends the stream at the
		// next message instead of producing work nobody reads.
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(&inventoryv1.ListProductsResponse{Product: p}); err != nil {
			return err
		}
	}
	return nil
}

// ImportStock is the client-streaming RPC. Lines are validated as they
// arrive but applied only at the end, all together: a bad line or a
// cancelled stream changes nothing.
func (s *Server) ImportStock(stream grpc.ClientStreamingServer[inventoryv1.ImportStockRequest, inventoryv1.ImportStockResponse]) error {
	echoRequestID(stream.Context())
	add := map[string]int32{}
	var lines, total int32
	for {
		line, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := validateLine(lines+1, line); err != nil {
			return err
		}
		if lines == MaxImportLines {
			return status.Errorf(codes.InvalidArgument, "more than %d lines: split the import", MaxImportLines)
		}
		lines++
		total += line.GetQuantity()
		add[line.GetSku()] += line.GetQuantity()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sku, q := range add {
		p, ok := s.products[sku]
		if !ok {
			return status.Errorf(codes.NotFound, "product %s not found: nothing imported", sku)
		}
		if int64(p.GetStock())+int64(q) > math.MaxInt32 {
			return status.Errorf(codes.OutOfRange, "stock of %s would exceed %d: nothing imported", sku, math.MaxInt32)
		}
	}
	for sku, q := range add {
		p := s.products[sku]
		p.Stock += q
		p.UpdatedAt = timestamppb.New(s.now())
	}
	s.notifyLocked()
	return stream.SendAndClose(&inventoryv1.ImportStockResponse{Lines: lines, TotalQuantity: total})
}

// WatchStock is the bidirectional RPC: the client adds subscriptions at any
// time, the server sends each subscribed level now and after every change.
func (s *Server) WatchStock(stream grpc.BidiStreamingServer[inventoryv1.WatchStockRequest, inventoryv1.WatchStockResponse]) error {
	ctx := stream.Context()
	echoRequestID(ctx)
	subs := make(chan string)
	recvErr := make(chan error, 1)
	recvDone := make(chan struct{})
	// Recv blocks, so it runs in its own goroutine. It ends when the client
	// closes its side or the stream's context ends: on cancel, deadline or
	// lost connection, and at the latest when this handler returns, because
	// grpc then cancels the stream's context.
	go func() {
		defer close(recvDone)
		for {
			req, err := stream.Recv()
			if err == nil {
				err = Validate(req)
			}
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case subs <- req.GetSku():
			case <-ctx.Done():
				recvErr <- ctx.Err()
				return
			}
		}
	}()

	// sent holds the last level sent per subscribed SKU; notSent marks a
	// subscription whose product does not exist yet (it is sent once created).
	const notSent = math.MinInt32
	sent := map[string]int32{}
	for {
		s.mu.Lock()
		changed := s.changed
		var out []*inventoryv1.WatchStockResponse
		for _, sku := range slices.Sorted(maps.Keys(sent)) {
			p, ok := s.products[sku]
			if ok && p.GetStock() != sent[sku] {
				sent[sku] = p.GetStock()
				out = append(out, &inventoryv1.WatchStockResponse{Sku: sku, Stock: p.GetStock()})
			}
		}
		s.mu.Unlock()
		for _, m := range out {
			if err := stream.Send(m); err != nil {
				return err
			}
		}
		select {
		case sku := <-subs:
			if _, ok := sent[sku]; !ok {
				if len(sent) == MaxWatch {
					return status.Errorf(codes.ResourceExhausted, "at most %d SKUs per watch stream", MaxWatch)
				}
				sent[sku] = notSent
			}
		case <-changed:
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil // the client closed its side: a clean end
			}
			if _, ok := status.FromError(err); ok {
				return err
			}
			return status.FromContextError(err).Err()
		case <-ctx.Done():
			<-recvDone
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// echoRequestID copies the caller's request id into the response header.
func echoRequestID(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	if ids := md.Get(RequestIDKey); len(ids) > 0 {
		// SetHeader only fails after the header was sent; nothing was sent yet.
		_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDKey, ids[0]))
	}
}

// applyMask keeps only the top-level fields named in paths (already
// validated); no paths means the whole product.
func applyMask(p *inventoryv1.Product, paths []string) *inventoryv1.Product {
	if len(paths) == 0 {
		return p
	}
	src := p.ProtoReflect()
	out := &inventoryv1.Product{}
	dst := out.ProtoReflect()
	for _, path := range paths {
		fd := src.Descriptor().Fields().ByName(protoreflect.Name(path))
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		}
	}
	return out
}

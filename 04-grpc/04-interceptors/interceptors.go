package main

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"sync"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
	"github.com/go-course/part4-infrastructure/04-grpc/internal/inventory"
)

// slogAdapter lets the go-grpc-middleware logging interceptor write through
// log/slog.
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// tokenAuth maps bearer tokens to roles. A real service verifies a signed
// token (JWT, OIDC) instead of looking it up, but the interceptor's shape
// is the same.
type tokenAuth struct {
	admin, reader string
}

// writes are the methods only the admin role may call.
func isWrite(method string) bool {
	switch method {
	case inventoryv1.InventoryService_CreateProduct_FullMethodName,
		inventoryv1.InventoryService_ImportStock_FullMethodName:
		return true
	}
	return false
}

// authenticate is an auth.AuthFunc: a missing or unknown token is
// Unauthenticated (who are you?), a known token calling a method its role
// may not is PermissionDenied (you may not).
func (a tokenAuth) authenticate(ctx context.Context) (context.Context, error) {
	token, err := auth.AuthFromMD(ctx, "bearer")
	if err != nil {
		return nil, err // already Unauthenticated
	}
	var role string
	switch {
	case subtle.ConstantTimeCompare([]byte(token), []byte(a.admin)) == 1:
		role = "admin"
	case subtle.ConstantTimeCompare([]byte(token), []byte(a.reader)) == 1:
		role = "reader"
	default:
		return nil, status.Error(codes.Unauthenticated, "invalid bearer token")
	}
	method, _ := grpc.Method(ctx)
	if isWrite(method) && role != "admin" {
		return nil, status.Errorf(codes.PermissionDenied, "role %s may not call %s", role, method)
	}
	return ctx, nil
}

// validateUnary rejects an invalid request before the handler runs, for
// every service on the server at once.
func validateUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if err := inventory.Validate(m); err != nil {
			return nil, err
		}
	}
	return h(ctx, req)
}

// validateStream does the same for every message a stream receives.
func validateStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, validatingStream{ss})
}

type validatingStream struct{ grpc.ServerStream }

func (s validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if msg, ok := m.(proto.Message); ok {
		return inventory.Validate(msg)
	}
	return nil
}

// bearerUnary and bearerStream attach the token to every outgoing call.
func bearerUnary(token string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
	) error {
		return invoker(withBearer(ctx, token), method, req, reply, cc, opts...)
	}
}

func bearerStream(token string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption,
	) (grpc.ClientStream, error) {
		return streamer(withBearer(ctx, token), desc, cc, method, opts...)
	}
}

func withBearer(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// lockedWriter serialises writes from the server's goroutines (logs) and
// the client's (results) to one output.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// tokenAuth maps bearer tokens to roles. A real service verifies a signed
// token (JWT, OIDC) instead of looking it up, but the interceptor's shape
// is the same.
type tokenAuth struct {
	admin, reader string
}

// newTokenAuth fails closed: a service with a missing token refuses to
// start instead of falling back to a default anyone could read in the code.
func newTokenAuth(getenv func(string) string) (tokenAuth, error) {
	a := tokenAuth{admin: getenv("INVENTORY_ADMIN_TOKEN"), reader: getenv("INVENTORY_READER_TOKEN")}
	var errs []error
	if a.admin == "" {
		errs = append(errs, errors.New("INVENTORY_ADMIN_TOKEN: required"))
	}
	if a.reader == "" {
		errs = append(errs, errors.New("INVENTORY_READER_TOKEN: required"))
	}
	if a.admin != "" && a.admin == a.reader {
		errs = append(errs, errors.New("INVENTORY_READER_TOKEN: must differ from the admin token"))
	}
	return a, errors.Join(errs...)
}

// allowedRoles is the allow-list: the roles that may call each method. A
// method missing here (one added to the service later) is denied to every
// role until someone decides who may call it.
func allowedRoles(method string) []string {
	switch method {
	case inventoryv1.InventoryService_GetProduct_FullMethodName,
		inventoryv1.InventoryService_ListProducts_FullMethodName,
		inventoryv1.InventoryService_WatchStock_FullMethodName:
		return []string{"admin", "reader"}
	case inventoryv1.InventoryService_CreateProduct_FullMethodName,
		inventoryv1.InventoryService_ImportStock_FullMethodName:
		return []string{"admin"}
	}
	return nil
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
	if !slices.Contains(allowedRoles(method), role) {
		return nil, status.Errorf(codes.PermissionDenied, "role %s may not call %s", role, method)
	}
	return ctx, nil
}

// needsAuth exempts the health service (selector.MatchFunc): load
// balancers and probes ask it without a token, and it says nothing but
// SERVING or NOT_SERVING. Every other method goes through authenticate.
func needsAuth(_ context.Context, c interceptors.CallMeta) bool {
	return c.Service != healthpb.Health_ServiceDesc.ServiceName
}

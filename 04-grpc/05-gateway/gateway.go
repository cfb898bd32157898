package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	inventoryv1 "github.com/go-course/part4-infrastructure/04-grpc/internal/gen/inventory/v1"
)

// maxBodyBytes bounds a request body, like MaxRecvMsgSize on the gRPC side.
const maxBodyBytes = 64 << 10

// newHandler is the REST API: the generated routes on a runtime.ServeMux,
// /healthz, and the OpenAPI document.
func newHandler(ctx context.Context, conn *grpc.ClientConn, backendTimeout time.Duration) (http.Handler, error) {
	gw := runtime.NewServeMux(
		// The canonical proto3 JSON names (priceCents), as the OpenAPI
		// document describes them; zero values are sent ("stock": 0), unset
		// messages left out rather than null. Unknown fields in a body are
		// rejected: a typo must not look like success.
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{EmitDefaultValues: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithMiddlewares(strictQuery(inventoryv1.File_inventory_v1_inventory_proto.Services().Get(0))),
		// x-request-id travels to the backend as metadata, and the id the
		// backend answers with comes back as X-Request-Id; other gRPC
		// metadata stays internal.
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			if http.CanonicalHeaderKey(key) == "X-Request-Id" {
				return "x-request-id", true
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
		runtime.WithOutgoingHeaderMatcher(func(key string) (string, bool) {
			return "X-Request-Id", key == "x-request-id"
		}),
		// GET /healthz asks the backend's grpc.health.v1 service: 200 when
		// SERVING, 503 otherwise, so a probe checks the whole path.
		runtime.WithHealthzEndpoint(healthpb.NewHealthClient(conn)),
	)
	// The default error handler maps the gRPC code to the HTTP status
	// (InvalidArgument → 400, NotFound → 404, DeadlineExceeded → 504, ...)
	// and writes {"code", "message", "details"} as JSON.
	if err := inventoryv1.RegisterInventoryServiceHandler(ctx, gw, conn); err != nil {
		return nil, fmt.Errorf("register gateway: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI) // a failed write means the client left
	})
	mux.Handle("/", withDeadline(limitBody(gw, maxBodyBytes), backendTimeout))
	return mux, nil
}

// newHTTPServer bounds every phase of a connection, so slow or idle
// clients cannot hold connections for ever. A write may last as long as
// the backend call it waits for, plus a margin.
func newHTTPServer(h http.Handler, backendTimeout time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      backendTimeout + 5*time.Second,
		IdleTimeout:       time.Minute,
	}
}

// withDeadline puts a deadline on the call to the backend. A client's
// Grpc-Timeout header may shorten it (the gateway derives from this
// context), never lengthen it.
func withDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody answers 413 for a body over limit. The gateway itself would
// turn http.MaxBytesReader's error into a 400 like any malformed JSON.
func limitBody(h http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
			writeStatus(w, http.StatusRequestEntityTooLarge, codes.ResourceExhausted,
				fmt.Sprintf("request body over %d bytes", limit))
			return
		} else if err != nil {
			writeStatus(w, http.StatusBadRequest, codes.InvalidArgument, "read request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

// writeStatus writes an error in the gateway's own JSON shape.
func writeStatus(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	body, _ := protojson.Marshal(status.New(code, msg).Proto()) // a Status always marshals
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body) // a failed write means the client left
}

// strictQuery rejects query parameters that the request message of a GET
// route does not have (?page_size=10 where the method takes limit): the
// default parser ignores them, so the client would believe they applied.
// The routes and their request messages come from the google.api.http
// options in the service's descriptor, the templates written the way
// runtime.Pattern prints them ({sku} as {sku=*}).
func strictQuery(sd protoreflect.ServiceDescriptor) runtime.Middleware {
	inputs := map[string]protoreflect.MessageDescriptor{}
	pathVar := regexp.MustCompile(`\{(\w+)\}`)
	for i := range sd.Methods().Len() {
		m := sd.Methods().Get(i)
		if rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule); ok && rule.GetGet() != "" {
			inputs[pathVar.ReplaceAllString(rule.GetGet(), "{$1=*}")] = m.Input()
		}
	}
	return func(next runtime.HandlerFunc) runtime.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
			pattern, _ := runtime.HTTPPattern(r.Context())
			if in, ok := inputs[pattern.String()]; ok && r.Method == http.MethodGet {
				for key := range r.URL.Query() {
					name, _, _ := strings.Cut(key, ".")
					if in.Fields().ByName(protoreflect.Name(name)) == nil && in.Fields().ByJSONName(name) == nil {
						writeStatus(w, http.StatusBadRequest, codes.InvalidArgument,
							fmt.Sprintf("unknown query parameter %q", key))
						return
					}
				}
			}
			next(w, r, params)
		}
	}
}

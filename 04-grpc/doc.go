// Package grpcsection holds the examples of chapter 4.4 (gRPC). This file
// only carries the code generation step: `make generate` regenerates the
// protobuf, gRPC and gateway code in internal/gen from proto/ with buf.
package grpcsection

//go:generate buf generate

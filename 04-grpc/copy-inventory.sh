#!/bin/sh
# copy-inventory.sh DST — what every 4.4 example needs in the Go module
# rooted at DST, after its own files were copied there: the pinned buf and
# protoc plugins, the inventory contract regenerated under DST's module
# path with buf managed mode (gen/inventory/v1), the in-memory service
# (internal/inventory), and the imports of the Go files in DST rewritten
# from this repository's path to DST's.
set -eu
src=$(cd "$(dirname "$0")" && pwd)
dst=$1
mod=$(cd "$dst" && go list -m)
go install github.com/bufbuild/buf/cmd/buf@v1.75.0
go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@v2.33.0
bin=$(go env GOBIN)
[ -n "$bin" ] || bin=$(go env GOPATH)/bin
PATH="$bin:$PATH" # the pinned binaries first
cp -R "$src/proto" "$src/third_party" "$src/buf.yaml" "$dst/"
sed "s#example.com/copy#$mod#" "$src/buf.gen.copy.yaml" >"$dst/buf.gen.yaml"
(cd "$dst" && buf generate)
mkdir -p "$dst/internal/inventory"
cp "$src/internal/inventory/server.go" "$src/internal/inventory/validate.go" "$dst/internal/inventory/"
repo=github.com/go-course/part4-infrastructure/04-grpc
grep -rl --include='*.go' "$repo/" "$dst" | while read -r f; do
  sed -e "s#$repo/internal/gen/#$mod/gen/#" -e "s#$repo/internal/inventory#$mod/internal/inventory#" "$f" >"$f.tmp"
  mv "$f.tmp" "$f"
done
cd "$dst" && go mod tidy

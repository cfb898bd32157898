#!/usr/bin/env bash
# image.sh [OUT] — the app's image without Docker (make image): build the
# binary exactly as the Dockerfile's builder stage does, then assemble an
# OCI image on an empty base with go-containerregistry (cmd/image).
# Run from anywhere; writes OUT (default .stack/app-image.tar at the root).
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-../.stack/app-image.tar}
version=${VERSION:-dev}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo none)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$(dirname "$out")"
CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-$(go env GOARCH)} GOWORK=off \
  go build -trimpath -buildvcs=false \
    -ldflags="-s -w -X main.version=${version} -X main.commit=${commit}" \
    -o "$work/app" ./app
GOWORK=off go run ./cmd/image -binary "$work/app" -o "$out" -version "$version" \
  -arch "${GOARCH:-$(go env GOARCH)}"

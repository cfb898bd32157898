#!/usr/bin/env bash
# tools.sh — build the Go tools pinned in stack/tools/go.mod (tool directives)
# into .stack/bin. The go build cache makes a second run take seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .stack/bin
bin=$PWD/.stack/bin
cd stack/tools
mapfile -t tools < <(GOWORK=off go list -f '{{range .Tool}}{{.}}{{"\n"}}{{end}}' -m 2>/dev/null || true)
if [[ ${#tools[@]} -eq 0 || -z ${tools[0]} ]]; then
  mapfile -t tools < <(sed -n '/^tool (/,/^)/{/^tool (/d;/^)/d;s/^[[:space:]]*//;p}' go.mod)
fi
GOWORK=off go build -o "$bin/" "${tools[@]}"
